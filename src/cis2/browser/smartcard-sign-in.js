// Asks the workstation's smartcard agent to sign this page's one-use challenge with the card's
// authentication key; the certificate and signature go back in the form's hidden fields, so the
// server sees an ordinary form post. The passcode is never typed here: the agent has its own page.
const form = document.querySelector("form[data-smartcard-agent]");
if (form) {
  const status = document.querySelector("[data-smartcard-status]");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  const advice = {
    401: "Enter your smartcard passcode in the smartcard agent, then choose Use smartcard again.",
    404: "Insert your smartcard into the reader, then choose Use smartcard again.",
    409: "This smartcard has not been issued. Ask your RA.",
    423: "Your smartcard is locked. Ask your RA or local smartcard administrator to unlock it.",
  };
  form.addEventListener("submit", async (event) => {
    if (form.elements.signature.value) return;
    event.preventDefault();
    let response;
    try {
      response = await fetch(new URL("/api/sign", form.dataset.smartcardAgent), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ challenge: form.dataset.smartcardChallenge }),
      });
    } catch {
      say("The smartcard agent is not running on this computer. Start it, then choose Use smartcard again.");
      return;
    }
    if (!response.ok) {
      say(advice[response.status] ?? "The smartcard agent could not use your smartcard. Try again.");
      return;
    }
    const signed = await response.json();
    form.elements.certificate.value = signed.certificate;
    form.elements.signature.value = signed.signature;
    form.submit();
  });
  for (const button of form.querySelectorAll("button[disabled]")) {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
  }
}
