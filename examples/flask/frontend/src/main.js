// Asks the app (proxied by nginx on the same origin) what serves, and shows it.
// VITE_APP_LABEL comes from the build's environment (deploy_npm_env), never from the app's secrets.
const label = import.meta.env.VITE_APP_LABEL || "Flask example";
const target = document.querySelector("#app");
fetch("/healthz")
  .then((answer) => answer.json())
  .then((health) => { target.textContent = `${label}: Flask example ${health.version}, commit ${health.commit}`; })
  .catch(() => { target.textContent = "The app does not answer."; });
