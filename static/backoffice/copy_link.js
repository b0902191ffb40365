// The back office's "Copy" buttons: copy the text box just before the button.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest(".spoke-copy-button");
  if (!button) return;
  const source = button.previousElementSibling;
  source.select();
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});
