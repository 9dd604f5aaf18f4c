import { defineConfig } from "vite";

// Served by nginx under /app/ (an `spa` location of the release's frontend/dist).
export default defineConfig({ base: "/app/" });
