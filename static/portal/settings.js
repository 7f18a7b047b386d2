// Copy buttons: <button data-copy="#id"> copies that element's text; confirmation forms: data-confirm="text".
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.querySelector(button.dataset.copy).textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (e) {
    // No clipboard (plain http, old browser): select the text so Ctrl+C works.
    const range = document.createRange();
    range.selectNodeContents(document.querySelector(button.dataset.copy));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    button.textContent = "Press Ctrl+C";
  }
  button.dataset.copied = "true";
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
