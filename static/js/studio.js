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

// Composer: the visual asset picker. It writes the composer's own fields (image, ref_asset_N, ref_name_N,
// ref_type_N), so the server sees exactly what the plain selects would send; without JavaScript those selects remain.
(function () {
  const form = document.querySelector("form.composer");
  const picker = form && form.querySelector("[data-picker]");
  if (!picker) return;
  const confirming = form.classList.contains("confirming");
  form.classList.add("enhanced");
  picker.hidden = false;
  const maxRefs = parseInt(picker.dataset.maxRefs || "7", 10);
  const imageSelect = form.querySelector("select[name=image]");
  const chosenImage = picker.querySelector("[data-chosen-image]");
  const chosenList = picker.querySelector("[data-chosen-refs]");
  const prompt = form.querySelector("textarea[name=prompt]");
  const complete = document.getElementById("at-complete");
  const unknownBox = document.getElementById("unknown-refs");
  let refs = []; // [{asset, name, refName, type, thumb}]

  function mode() {
    const checked = form.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "i2v";
  }
  function tileFor(assetId) {
    return picker.querySelector('.picker-tile[data-asset="' + assetId + '"]');
  }
  function optionLabel(select, value) {
    const option = select && Array.from(select.options).find(function (o) { return o.value === String(value); });
    return option ? option.textContent : "";
  }
  function describe(assetId, select) {
    const tile = tileFor(assetId);
    if (tile) return { name: tile.dataset.name, refName: tile.dataset.refName, type: tile.dataset.type, thumb: tile.dataset.thumb };
    const label = optionLabel(select, assetId);
    const match = label.match(/^(.*) \(@(\w+)\)$/);
    return { name: match ? match[1] : label, refName: match ? match[2] : "", type: "subject", thumb: "" };
  }
  function field(name) { return form.querySelector('[name="' + name + '"]'); }

  // Start from what the form holds (a remix, or "Change settings" after the confirm step).
  for (let slot = 1; slot <= maxRefs; slot++) {
    const select = field("ref_asset_" + slot);
    if (select && select.value) {
      const info = describe(select.value, select);
      refs.push({ asset: select.value, name: info.name, thumb: info.thumb,
        refName: (field("ref_name_" + slot) || {}).value || info.refName,
        type: (field("ref_type_" + slot) || {}).value || info.type });
    } else {
      const orphan = field("ref_name_" + slot);
      if (orphan && orphan.value) { // the asset is gone (remix of a job whose asset was deleted)
        refs.push({ asset: "", name: "(deleted)", thumb: "", refName: orphan.value, type: (field("ref_type_" + slot) || {}).value || "subject" });
      }
    }
  }

  function writeFields() {
    for (let slot = 1; slot <= maxRefs; slot++) {
      const ref = refs[slot - 1];
      const select = field("ref_asset_" + slot);
      if (select) {
        if (ref && ref.asset && !Array.from(select.options).some(function (o) { return o.value === ref.asset; })) {
          select.add(new Option(ref.name, ref.asset));
        }
        select.value = ref ? ref.asset : "";
      }
      const nameInput = field("ref_name_" + slot);
      if (nameInput) nameInput.value = ref ? ref.refName : "";
      const typeSelect = field("ref_type_" + slot);
      if (typeSelect) typeSelect.value = ref ? ref.type : "subject";
    }
  }
  function changed() {
    writeFields();
    checkPrompt();
    form.dispatchEvent(new Event("change", { bubbles: true })); // the live price follows
  }

  function renderImage() {
    chosenImage.innerHTML = "";
    picker.querySelectorAll(".picker-tile").forEach(function (tile) {
      tile.classList.toggle("selected", mode() === "i2v" ? tile.dataset.asset === imageSelect.value
        : refs.some(function (r) { return r.asset === tile.dataset.asset; }));
      tile.setAttribute("aria-selected", tile.classList.contains("selected") ? "true" : "false");
    });
    if (!imageSelect.value) return;
    const info = describe(imageSelect.value, imageSelect);
    chosenImage.innerHTML = '<span class="small muted">Chosen:</span> ' + (info.thumb ? '<img alt="" src="' + info.thumb + '">' : "") +
      '<strong></strong> <code class="ref"></code>';
    chosenImage.querySelector("strong").textContent = info.name;
    chosenImage.querySelector("code").textContent = "@" + info.refName;
  }

  function renderRefs() {
    chosenList.innerHTML = "";
    refs.forEach(function (ref, index) {
      const li = document.createElement("li");
      li.className = "chosen-ref" + (ref.asset ? "" : " missing");
      li.draggable = !confirming;
      li.dataset.index = String(index);
      li.innerHTML = '<span class="drag" aria-hidden="true" title="Drag to reorder">⋮⋮</span>' +
        (ref.thumb ? '<img alt="">' : '<span class="noimg">?</span>') +
        '<div class="ref-fields"><span class="small ref-asset-name"></span>' +
        '<label class="sr-only" for="chosen-name-' + index + '">@ref_name</label>' +
        '<span class="at">@<input id="chosen-name-' + index + '" class="chosen-name" maxlength="30" aria-label="@ref_name of reference ' + (index + 1) + '"></span>' +
        '<select class="chosen-type" aria-label="Type of reference ' + (index + 1) + '"><option value="subject">Subject</option><option value="background">Background</option></select></div>' +
        '<span class="order-buttons"><button type="button" class="link up" aria-label="Move up">↑</button><button type="button" class="link down" aria-label="Move down">↓</button></span>' +
        '<button type="button" class="link remove" aria-label="Remove reference ' + (index + 1) + '">✕</button>';
      if (ref.thumb) li.querySelector("img").src = ref.thumb;
      li.querySelector(".ref-asset-name").textContent = ref.asset ? ref.name : "deleted from the library: pick another image";
      const nameInput = li.querySelector(".chosen-name");
      nameInput.value = ref.refName;
      nameInput.addEventListener("input", function () { ref.refName = nameInput.value.trim(); writeFields(); checkPrompt(); });
      nameInput.addEventListener("change", function (event) { event.stopPropagation(); changed(); });
      const typeSelect = li.querySelector(".chosen-type");
      typeSelect.value = ref.type;
      typeSelect.addEventListener("change", function (event) { event.stopPropagation(); ref.type = typeSelect.value; changed(); });
      li.querySelector(".remove").addEventListener("click", function () { refs.splice(index, 1); renderAll(); changed(); });
      li.querySelector(".up").addEventListener("click", function () { move(index, index - 1); });
      li.querySelector(".down").addEventListener("click", function () { move(index, index + 1); });
      li.addEventListener("dragstart", function (event) { event.dataTransfer.setData("text/plain", String(index)); li.classList.add("dragging"); });
      li.addEventListener("dragend", function () { li.classList.remove("dragging"); });
      li.addEventListener("dragover", function (event) { event.preventDefault(); });
      li.addEventListener("drop", function (event) {
        event.preventDefault();
        move(parseInt(event.dataTransfer.getData("text/plain"), 10), index);
      });
      chosenList.appendChild(li);
    });
    picker.querySelector("[data-picker-status]").textContent = mode() === "r2v"
      ? refs.length + " of " + maxRefs + " references chosen" : "";
  }
  function move(from, to) {
    if (isNaN(from) || to < 0 || to >= refs.length || from === to) return;
    const item = refs.splice(from, 1)[0];
    refs.splice(to, 0, item);
    renderAll();
    changed();
  }
  function renderAll() { renderImage(); renderRefs(); }

  picker.addEventListener("click", function (event) {
    const tile = event.target instanceof Element && event.target.closest(".picker-tile");
    if (!tile || confirming) return;
    if (mode() === "i2v") {
      if (!Array.from(imageSelect.options).some(function (o) { return o.value === tile.dataset.asset; })) {
        imageSelect.add(new Option(tile.dataset.name + " (@" + tile.dataset.refName + ")", tile.dataset.asset));
      }
      imageSelect.value = tile.dataset.asset;
      renderAll();
      form.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    const existing = refs.findIndex(function (r) { return r.asset === tile.dataset.asset; });
    if (existing >= 0) {
      refs.splice(existing, 1);
    } else if (refs.length >= maxRefs) {
      picker.querySelector("[data-picker-status]").textContent = "At most " + maxRefs + " references: remove one first.";
      return;
    } else {
      refs.push({ asset: tile.dataset.asset, name: tile.dataset.name, refName: tile.dataset.refName, type: tile.dataset.type, thumb: tile.dataset.thumb });
    }
    renderAll();
    changed();
  });
  form.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.name === "mode") { renderAll(); checkPrompt(); }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "picker-tiles") renderImage();
    if (event.target && event.target.id === "live-quote") applyProviderSupport();
  });

  // Inline upload, with progress; the new images appear as tiles (newest first) and the first is picked for i2v.
  const uploadInput = picker.querySelector("[data-picker-upload]");
  if (uploadInput) {
    uploadInput.addEventListener("change", function (event) {
      event.stopPropagation();
      if (!uploadInput.files.length) return;
      const data = new FormData();
      Array.from(uploadInput.files).forEach(function (file) { data.append("files", file); });
      data.append("default_type", "subject");
      data.append("csrfmiddlewaretoken", form.querySelector("input[name=csrfmiddlewaretoken]").value);
      const progress = picker.querySelector("[data-picker-progress]");
      const status = picker.querySelector("[data-picker-status]");
      progress.hidden = false;
      progress.value = 0;
      status.textContent = "Uploading…";
      const xhr = new XMLHttpRequest();
      xhr.open("POST", picker.dataset.uploadUrl);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total); });
      xhr.addEventListener("load", function () {
        progress.value = 100;
        const holder = document.createElement("div");
        holder.innerHTML = xhr.responseText;
        const summary = holder.querySelector(".upload-summary, .message.error");
        status.textContent = summary ? summary.textContent.trim() : (xhr.status === 200 ? "Uploaded." : "Upload failed (" + xhr.status + ").");
        uploadInput.value = "";
        const search = picker.querySelector("input[name=picker_q]");
        if (search) search.value = "";
        fetch(picker.dataset.pickerUrl, { headers: { "HX-Request": "true" } }).then(function (r) { return r.text(); }).then(function (html) {
          const tiles = document.getElementById("picker-tiles");
          tiles.outerHTML = html;
          const first = picker.querySelector(".picker-tile");
          if (first && mode() === "i2v" && !imageSelect.value) first.click();
          renderImage();
          progress.hidden = true;
        });
      });
      xhr.addEventListener("error", function () { status.textContent = "Upload failed: check your connection and try again."; progress.hidden = true; });
      xhr.send(data);
    });
  }

  // The prompt: "@" completes from the chosen references; unknown @names are marked before anything is sent.
  function knownNames() { return refs.map(function (r) { return r.refName; }).filter(Boolean); }
  function unknownNames() {
    if (mode() !== "r2v" || !prompt) return [];
    const known = knownNames();
    const seen = [];
    (prompt.value.match(/@(\w+)/g) || []).forEach(function (token) {
      const name = token.slice(1);
      if (known.indexOf(name) < 0 && seen.indexOf(name) < 0) seen.push(name);
    });
    return seen;
  }
  function checkPrompt() {
    const unknown = unknownNames();
    if (!unknownBox) return unknown;
    unknownBox.hidden = unknown.length === 0;
    unknownBox.textContent = unknown.length
      ? "Not among your references: " + unknown.map(function (n) { return "@" + n; }).join(", ") +
        ". Add the reference, or fix the name" + (knownNames().length ? " (yours: " + knownNames().map(function (n) { return "@" + n; }).join(", ") + ")." : ".")
      : "";
    if (prompt) prompt.setAttribute("aria-invalid", unknown.length ? "true" : "false");
    return unknown;
  }
  let active = -1;
  function closeComplete() { complete.hidden = true; complete.innerHTML = ""; active = -1; }
  function currentToken() {
    const before = prompt.value.slice(0, prompt.selectionStart);
    const match = before.match(/@(\w*)$/);
    return match ? match[1] : null;
  }
  function insert(name) {
    const start = prompt.selectionStart;
    const before = prompt.value.slice(0, start).replace(/@(\w*)$/, "@" + name + " ");
    const after = prompt.value.slice(start).replace(/^\w*/, "");
    prompt.value = before + after.replace(/^ /, "");
    prompt.selectionStart = prompt.selectionEnd = before.length;
    prompt.focus();
    closeComplete();
    checkPrompt();
  }
  function openComplete() {
    const token = currentToken();
    if (token === null || mode() !== "r2v") { closeComplete(); return; }
    const names = knownNames().filter(function (n) { return n.toLowerCase().indexOf(token.toLowerCase()) === 0; });
    complete.innerHTML = "";
    if (!names.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = knownNames().length ? "No reference starts with @" + token : "Add references below first";
      complete.appendChild(li);
    }
    names.forEach(function (name, index) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.name = name;
      li.textContent = "@" + name;
      li.addEventListener("mousedown", function (event) { event.preventDefault(); insert(name); });
      if (index === 0) { li.classList.add("active"); }
      complete.appendChild(li);
    });
    active = names.length ? 0 : -1;
    complete.hidden = false;
  }
  if (prompt && complete) {
    prompt.setAttribute("autocomplete", "off");
    let priceTimer = 0;
    prompt.addEventListener("input", function () {
      openComplete();
      checkPrompt();
      clearTimeout(priceTimer); // the live price follows the typing too, not only on leaving the box
      priceTimer = setTimeout(function () { form.dispatchEvent(new Event("change", { bubbles: true })); }, 700);
    });
    // Closed a moment after the prompt loses focus (a click on an option lands first), unless the prompt has the
    // focus again by then: a list opened since must stay for the Enter that picks from it.
    prompt.addEventListener("blur", function () {
      setTimeout(function () { if (document.activeElement !== prompt) closeComplete(); }, 150);
    });
    prompt.addEventListener("keydown", function (event) {
      if (complete.hidden) return;
      const options = complete.querySelectorAll("li[role=option]");
      if (!options.length) { if (event.key === "Escape") closeComplete(); return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        options.forEach(function (o, i) { o.classList.toggle("active", i === active); });
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        insert(options[Math.max(0, active)].dataset.name);
      } else if (event.key === "Escape") {
        closeComplete();
      }
    });
  }
  form.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    if (submitter && submitter.name === "edit") return;
    if (checkPrompt().length) {
      event.preventDefault();
      unknownBox.scrollIntoView({ block: "center" });
      if (prompt) prompt.focus();
    }
  });

  // Providers that cannot make this video are disabled, with the reason (from the live quote).
  function applyProviderSupport() {
    const data = document.getElementById("provider-support");
    const select = form.querySelector("select[name=provider]");
    if (!data || !select) return;
    const support = JSON.parse(data.textContent);
    Array.from(select.options).forEach(function (option) {
      if (!(option.value in support)) return;
      if (!option.dataset.label) option.dataset.label = option.textContent;
      const why = support[option.value];
      option.disabled = Boolean(why) && option.value !== select.value;
      option.textContent = option.dataset.label + (why ? " — unavailable: " + why : "");
      option.title = why || "";
    });
  }

  writeFields();
  renderAll();
  checkPrompt();
  applyProviderSupport();
})();
