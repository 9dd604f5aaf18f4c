// Asks the app (proxied by nginx on the same origin) what serves, and shows it.
const target = document.querySelector("#app");
fetch("/healthz")
  .then((answer) => answer.json())
  .then((health) => { target.textContent = `Flask example ${health.version}, commit ${health.commit}`; })
  .catch(() => { target.textContent = "The app does not answer."; });
