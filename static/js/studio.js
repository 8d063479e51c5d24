// Confirmation before destructive actions: <form data-confirm="Delete this?"> asks first (works with and without htmx).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Library: a card shows its poster; the <video> is made only when the card is hovered or its poster clicked.
function studioMakePlayer(button, play) {
  const video = document.createElement("video");
  video.src = button.dataset.videoSrc;
  video.controls = true;
  video.playsInline = true;
  video.muted = !play;
  video.preload = "metadata";
  const img = button.querySelector("img");
  if (img) video.poster = img.src;
  const holder = document.createElement("div");
  holder.className = "player";
  holder.appendChild(video);
  button.replaceWith(holder);
  if (play) video.play().catch(function () {});
  return video;
}
document.addEventListener("click", function (event) {
  const button = event.target instanceof Element && event.target.closest("button.poster[data-video-src]");
  if (button) studioMakePlayer(button, true);
});
document.addEventListener("mouseover", function (event) {
  const button = event.target instanceof Element && event.target.closest("button.poster[data-video-src]");
  if (button && window.matchMedia("(hover: hover)").matches) {
    const video = studioMakePlayer(button, false);
    video.play().catch(function () {});
  }
});

// Library multi-select: count the ticked cards; "Delete" asks first (with the number).
function studioBulkCount() {
  const form = document.getElementById("bulk-form");
  if (!form) return 0;
  const ticked = document.querySelectorAll('input[type=checkbox][name=job][form="bulk-form"]:checked').length;
  const label = form.querySelector(".bulk-count");
  if (label) label.textContent = ticked ? ticked + " selected" : "Tick videos to act on several at once.";
  form.classList.toggle("has-selection", ticked > 0);
  return ticked;
}
document.addEventListener("change", function (event) {
  if (event.target instanceof HTMLInputElement && event.target.name === "job") studioBulkCount();
});
document.addEventListener("click", function (event) {
  const button = event.target instanceof Element && event.target.closest("button[data-confirm-bulk]");
  if (!button) return;
  const count = studioBulkCount();
  if (count && !window.confirm(button.dataset.confirmBulk.replace("the selected videos", count + " video" + (count === 1 ? "" : "s")))) {
    event.preventDefault();
  }
}, true);

// Copy-to-clipboard buttons: <button data-copy="#input-id">.
document.addEventListener("click", function (event) {
  const button = event.target instanceof Element && event.target.closest("button[data-copy]");
  if (!button) return;
  event.preventDefault();
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.value || source.textContent || "";
  const done = function () { button.textContent = "Copied ✓"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); document.execCommand("copy"); done(); });
  } else {
    if (source.select) source.select();
    document.execCommand("copy");
    done();
  }
});
