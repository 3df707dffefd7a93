// Kasane's small front-end bundle: the BPMN diagram viewer and nothing a page cannot live without.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { initFormPreviews } from "./form_preview.js";
import { initMigrations } from "./migrate.js";
import { initRepeats } from "./repeat.js";

function idsFrom(element, name) {
  const value = element.dataset[name] || "";
  return value.split(/\s+/).filter(Boolean);
}

async function showDiagram(element) {
  const status = element.querySelector("[data-diagram-status]");
  try {
    const response = await fetch(element.dataset.bpmnUrl, { credentials: "same-origin" });
    if (!response.ok) {
      throw new Error(String(response.status));
    }
    const xml = await response.text();
    const canvasHolder = element.querySelector("[data-diagram-canvas]");
    // A plain wheel scrolls the page, not the diagram: zooming is on the buttons (and drag pans).
    const viewer = new NavigatedViewer({ container: canvasHolder, zoomScroll: { enabled: false } });
    const { warnings } = await viewer.importXML(xml);
    element.dataset.importWarnings = String(warnings.length);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    for (const id of idsFrom(element, "completed")) {
      if (registry.get(id)) canvas.addMarker(id, "completed");
    }
    // A draft against its running version: what was added or changed, marked on the draft.
    for (const [name, marker] of [["added", "diff-added"], ["changed", "diff-changed"]]) {
      for (const id of idsFrom(element, name)) {
        if (registry.get(id)) canvas.addMarker(id, marker);
      }
    }
    const taken = new Set(idsFrom(element, "taken"));
    for (const flow of registry.filter((e) => e.type === "bpmn:SequenceFlow")) {
      if (taken.has(`${flow.source.id}>${flow.target.id}`)) canvas.addMarker(flow.id, "taken");
    }
    element.dataset.takenShown = String(
      registry.filter((e) => e.type === "bpmn:SequenceFlow" && canvas.hasMarker(e.id, "taken"))
        .length,
    );
    const active = idsFrom(element, "active").filter((id) => registry.get(id));
    for (const id of active) {
      canvas.addMarker(id, "active");
    }
    const waiting = idsFrom(element, "waiting").filter((id) => registry.get(id));
    for (const id of waiting) {
      if (!active.includes(id)) canvas.addMarker(id, "waiting");
    }
    const hottest = element.dataset.heat ? drawHeat(element, viewer) : [];
    const marked = [...idsFrom(element, "changed"), ...idsFrom(element, "added")].filter((id) =>
      registry.get(id),
    );
    const here = [active, waiting, hottest, marked].find((ids) => ids.length) || [];
    const focus = () => focusOn(canvas, here.length ? registry.get(here[0]) : null);
    focus();
    bindControls(element, canvas, focus);
    if (status) status.textContent = "";
    element.dataset.diagramReady = "true";
  } catch (error) {
    element.dataset.diagramReady = "error";
    if (status) status.textContent = "図を表示できませんでした。";
  }
}

// A supervisor's heatmap: at each element, how many cases wait there (coloured by lateness),
// on each flow how many passed in the period; a click on an element lists its cases.
function drawHeat(element, viewer) {
  const heat = JSON.parse(element.dataset.heat || "{}");
  const flows = JSON.parse(element.dataset.flows || "{}");
  const overlays = viewer.get("overlays");
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  let drawn = 0;
  for (const [id, entry] of Object.entries(heat)) {
    if (!registry.get(id)) continue;
    const badge = document.createElement("a");
    badge.className = `heat heat--${entry.level}`;
    badge.href = element.dataset.elementLink + encodeURIComponent(id);
    badge.textContent = String(entry.count);
    badge.title = entry.label;
    badge.setAttribute("aria-label", entry.label);
    overlays.add(id, { position: { top: -12, right: 12 }, html: badge });
    canvas.addMarker(id, `heat-${entry.level}`);
    drawn += 1;
  }
  for (const flow of registry.filter((e) => e.type === "bpmn:SequenceFlow")) {
    const count = flows[`${flow.source.id}>${flow.target.id}`];
    if (!count) continue;
    const label = document.createElement("span");
    label.className = "flow-count";
    label.textContent = String(count);
    // The middle of the flow's middle segment, just above the line.
    const at = Math.max(0, Math.floor((flow.waypoints.length - 1) / 2));
    const [a, b] = [flow.waypoints[at], flow.waypoints[at + 1] || flow.waypoints[at]];
    const middle = { x: (a.x + b.x) / 2 - 6, y: (a.y + b.y) / 2 };
    const box = { x: Math.min(...flow.waypoints.map((p) => p.x)), y: Math.min(...flow.waypoints.map((p) => p.y)) };
    overlays.add(flow.id, { position: { left: middle.x - box.x, top: middle.y - box.y - 18 }, html: label });
  }
  viewer.on("element.click", (event) => {
    if (heat[event.element.id]) {
      window.location.href = element.dataset.elementLink + encodeURIComponent(event.element.id);
    }
  });
  element.dataset.heatShown = String(drawn);
  // Where the most cases wait first: the diagram opens there at a readable scale.
  return Object.entries(heat)
    .filter(([id]) => registry.get(id))
    .sort((a, b) => b[1].count - a[1].count)
    .map(([id]) => id);
}

// At a readable scale, centred on the current task; the whole flow when nothing is waiting.
function focusOn(canvas, shape) {
  if (!shape) {
    canvas.zoom("fit-viewport", "auto");
    return;
  }
  canvas.zoom(1.0);
  const box = canvas.viewbox();
  canvas.viewbox({
    x: shape.x + shape.width / 2 - box.width / 2,
    y: shape.y + shape.height / 2 - box.height / 2,
    width: box.width,
    height: box.height,
  });
}

function bindControls(element, canvas, focus) {
  const actions = {
    "zoom-in": () => canvas.zoom(Math.min(canvas.zoom() * 1.25, 4)),
    "zoom-out": () => canvas.zoom(Math.max(canvas.zoom() / 1.25, 0.2)),
    fit: () => canvas.zoom("fit-viewport", "auto"),
    focus,
  };
  for (const button of element.querySelectorAll("[data-diagram-action]")) {
    const act = actions[button.dataset.diagramAction];
    if (!act) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      act();
      element.dataset.zoom = canvas.zoom().toFixed(2);
    });
  }
  element.dataset.zoom = canvas.zoom().toFixed(2);
}

document.addEventListener("DOMContentLoaded", () => {
  initRepeats();
  initFormPreviews();
  initMigrations();
  for (const element of document.querySelectorAll("[data-bpmn-url]")) {
    showDiagram(element);
  }
});
