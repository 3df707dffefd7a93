// The form editor's live preview: the server draws the form with the renderer staff see, a moment
// after the designer stops typing; a schema that does not parse shows its message instead.
const DELAY_MS = 400;

export function initFormPreviews() {
  for (const editor of document.querySelectorAll("[data-form-editor]")) {
    bindEditor(editor);
  }
}

function bindEditor(editor) {
  const source = editor.querySelector("[data-form-source]");
  const preview = editor.querySelector("[data-preview]");
  const problem = editor.querySelector("[data-preview-error]");
  const token = document.querySelector('meta[name="csrf-token"]')?.content || "";
  let timer = null;
  let sent = 0;

  async function refresh() {
    const mine = ++sent;
    editor.dataset.previewState = "loading";
    try {
      const response = await fetch(editor.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ schema: source.value }),
      });
      const answer = await response.json();
      if (mine !== sent) return; // a newer edit is on its way
      if (response.ok) {
        preview.innerHTML = answer.html;
        problem.hidden = true;
        problem.textContent = "";
      } else {
        problem.textContent = answer.error?.message || "";
        problem.hidden = false;
      }
      editor.dataset.previewState = response.ok ? "ready" : "error";
    } catch (error) {
      if (mine === sent) editor.dataset.previewState = "error";
    }
  }

  source.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  });
  editor.dataset.previewState = "ready";
}
