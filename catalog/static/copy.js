// Copy buttons: <button data-copy="ID" hidden> copies the value of the field #ID.
// The page works without this script (the field is there to select and copy by hand);
// with it, the button shows, and a status line beside it says whether it worked.
"use strict";

function copyField(button) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
  const say = (text) => { if (status) status.textContent = text; };
  field.focus();
  field.select();
  const copied = navigator.clipboard
    ? navigator.clipboard.writeText(field.value)
    : Promise.reject(new Error("no clipboard"));
  copied.then(
    () => { button.textContent = "Copied"; say("Copied to the clipboard."); },
    () => {
      // Older browsers, or no permission: the selected text copies with the keyboard.
      const done = document.execCommand && document.execCommand("copy");
      say(done ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    },
  );
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyField(button));
  }
});
