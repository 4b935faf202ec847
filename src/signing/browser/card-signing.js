// The browser signing service: this page hands the request's digests to the workstation's
// smartcard agent, which signs them with the card's signing key once the holder has entered the
// passcode on the agent's own page (linked from here). The signatures and the card's signing
// certificate then go back to the service, which checks them before the application collects.
const section = document.querySelector("[data-card-signing]");
if (section) {
  const status = section.querySelector("[data-card-status]");
  const approve = section.querySelector("[data-card-approve]");
  const button = section.querySelector("button");
  const say = (text) => {
    status.textContent = text;
  };
  const agent = section.dataset.agentUrl;
  const digests = JSON.parse(section.dataset.digests);
  const wait = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

  async function collect(batch) {
    for (;;) {
      const response = await fetch(new URL(`/api/signing/batches/${batch}`, agent));
      if (!response.ok) return undefined;
      const answer = await response.json();
      if (answer.status !== "pending") return answer;
      await wait(1000);
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    let asked;
    try {
      asked = await fetch(new URL("/api/signing/batches", agent), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ digests }),
      });
    } catch {
      say("The smartcard agent is not running on this computer. Start it, then try again.");
      button.disabled = false;
      return;
    }
    if (!asked.ok) {
      say("The smartcard agent would not sign for this page.");
      button.disabled = false;
      return;
    }
    const { batch, approveUrl } = await asked.json();
    approve.href = new URL(approveUrl, agent).href;
    approve.hidden = false;
    say("Open your smartcard agent and enter your passcode there to sign.");
    const answer = await collect(batch);
    if (answer?.status !== "signed") {
      say("Nothing was signed.");
      return;
    }
    const returned = await fetch(section.dataset.action, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ signatures: answer.signatures, certificate: answer.certificate }),
    });
    const outcome = await returned.json();
    approve.hidden = true;
    say(
      returned.ok
        ? `You signed ${outcome.count} items with your smartcard. You can close this page and return to the application.`
        : outcome.detail,
    );
    if (returned.ok) section.dataset.signedCount = String(outcome.count);
  });
  button.disabled = false;
  button.removeAttribute("aria-disabled");
}
