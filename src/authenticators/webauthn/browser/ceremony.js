// Runs the WebAuthn ceremony a page's form describes: the options come from the form's
// data-webauthn-options attribute, and the authenticator's answer goes back in its hidden
// "response" field, so the server sees an ordinary form post.
import { startAuthentication, startRegistration } from "./simplewebauthn/index.js";

const form = document.querySelector("form[data-webauthn-ceremony]");
if (form) {
  const status = document.querySelector("[data-webauthn-status]");
  form.addEventListener("submit", async (event) => {
    if (form.elements.response.value) return;
    event.preventDefault();
    const optionsJSON = JSON.parse(form.dataset.webauthnOptions);
    try {
      const response =
        form.dataset.webauthnCeremony === "registration"
          ? await startRegistration({ optionsJSON })
          : await startAuthentication({ optionsJSON });
      form.elements.response.value = JSON.stringify(response);
      form.submit();
    } catch (error) {
      if (status) status.textContent = `Your security key was not used (${error.name}). Try again.`;
    }
  });
  for (const button of form.querySelectorAll("button[disabled]")) {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
  }
}
