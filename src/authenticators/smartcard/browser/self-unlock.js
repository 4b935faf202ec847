// Self-service unlock, in the holder's browser. On the first page it asks the smartcard agent
// for the card in the reader and puts the card's serial in the form. On the passcode page it
// gives the agent the release ticket and the new passcode, twice; the agent fetches the card's
// unlock code from the service itself and sets the passcode, so neither the passcode nor the
// unlock code is ever sent to the service from this page.
const form = document.querySelector("form[data-unlock-agent]");
const status = document.querySelector("[data-unlock-status]");
const say = (text) => {
  if (status) status.textContent = text;
};
const agentUnreachable = "The smartcard agent is not running on this computer. Start it, then try again.";

async function askAgent(path, init) {
  try {
    return await fetch(new URL(path, form.dataset.unlockAgent), init);
  } catch {
    say(agentUnreachable);
    return undefined;
  }
}

async function readCard(event) {
  if (form.elements.cardSerial.value) return;
  event.preventDefault();
  const response = await askAgent("/api/card");
  if (!response) return;
  const card = response.ok ? await response.json() : { present: false };
  if (!card.present) return say("Put your smartcard in the reader, then choose Continue again.");
  if (card.blank) return say("This smartcard has not been issued yet. Ask your RA.");
  form.elements.cardSerial.value = card.cardSerial;
  form.submit();
}

async function unlock(event) {
  event.preventDefault();
  say("Unlocking your smartcard. Keep it in the reader.");
  const response = await askAgent("/api/unlock", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ticket: form.dataset.unlockTicket,
      passcode: form.querySelector("#passcode").value,
      confirmation: form.querySelector("#confirmation").value,
    }),
  });
  if (!response) return;
  if (response.ok) return window.location.assign(form.action);
  const problem = await response.json().catch(() => ({}));
  say(problem.detail ?? "The smartcard agent could not unlock your smartcard. Try again.");
}

if (form) {
  form.addEventListener("submit", form.dataset.unlockTicket ? unlock : readCard);
  for (const button of form.querySelectorAll("button[disabled]")) {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
  }
}
