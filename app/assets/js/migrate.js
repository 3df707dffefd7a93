// Moving running cases to a new version, a few at a time, with a progress bar and a line per
// case as each answer comes; without JavaScript the form posts all at once to a result page.
const CHUNK = 20;

export function initMigrations() {
  for (const form of document.querySelectorAll("form[data-migrate]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(form);
    });
  }
}

async function run(form) {
  const button = form.querySelector("button[type=submit]");
  const progress = form.querySelector("[data-migrate-progress]");
  const bar = progress.querySelector("progress");
  const count = progress.querySelector("[data-migrate-count]");
  const list = form.querySelector("[data-migrate-results]");
  const token = form.querySelector("input[name=csrf_token]").value;
  const target = form.querySelector("input[name=to]").value;
  const ids = [...form.querySelectorAll("input[name=instance_id]")].map((i) => Number(i.value));
  button.disabled = true;
  progress.hidden = false;
  let done = 0;
  let moved = 0;
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK);
    let answer;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ to: target, instance_ids: chunk }),
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error?.message || String(response.status));
    } catch (error) {
      const item = document.createElement("li");
      item.className = "warn";
      item.textContent = error.message;
      list.append(item);
      break;
    }
    for (const result of answer.results) {
      const item = document.createElement("li");
      item.className = result.outcome === "moved" ? "ok" : "warn";
      item.textContent = `#${result.instance_id}: ${result.message}`;
      list.append(item);
      moved += result.outcome === "moved" ? 1 : 0;
    }
    done += chunk.length;
    bar.value = done;
    count.textContent = String(done);
  }
  form.dataset.migrateDone = String(moved);
}
