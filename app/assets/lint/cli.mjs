#!/usr/bin/env node
// Lints BPMN files with Kasane's rules, as the modeler does, and prints JSON:
//   node app/assets/lint/cli.mjs --vocabulary vocab.json [--batch] [--generic] file.bpmn…
//   → [{"file": …, "reports": [{"rule": "kasane/…", "id": element_id, "message": …}]}]
// --batch: the files are deployed together, so a call activity may call a process of another
// file. --generic: read Kasane's properties without the modeler's moddle descriptor.
// Exit status: 0 nothing reported, 1 something reported, 2 the command itself is wrong.
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpmnModdle } from "bpmn-moddle";
import bpmnlint from "bpmnlint";
import { createLintConfig } from "./index.js";
import { executableProcesses } from "./rules/helpers.js";
import { providedNames } from "./rules/form-contract.js";

const { Linter } = bpmnlint;

const HERE = dirname(fileURLToPath(import.meta.url));
const DESCRIPTOR = join(HERE, "..", "js", "modeler", "spiffworkflow.json");
const USAGE = "使い方: node app/assets/lint/cli.mjs --vocabulary vocab.json [--batch] [--generic] file.bpmn…";

function usage(problem) {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

function parseArguments(argv) {
  const options = { vocabulary: null, batch: false, generic: false, files: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--vocabulary") {
      options.vocabulary = argv[i + 1];
      i += 1;
      if (!options.vocabulary) usage("--vocabulary の後に語彙のJSONファイルを指定してください");
    } else if (arg === "--batch") {
      options.batch = true;
    } else if (arg === "--generic") {
      options.generic = true;
    } else if (arg.startsWith("--")) {
      usage(`知らないオプションです: ${arg}`);
    } else {
      options.files.push(arg);
    }
  }
  if (!options.vocabulary) usage("語彙のJSONファイル（--vocabulary）を指定してください");
  if (!options.files.length) usage("調べる .bpmn ファイルを指定してください");
  return options;
}

function readVocabulary(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return usage(`語彙のJSONファイル ${path} を読めません（${error.code || "JSONとして読めません"}）`);
  }
}

function makeModdle(generic) {
  if (generic || !existsSync(DESCRIPTOR)) return new BpmnModdle();
  return new BpmnModdle({ spiffworkflow: JSON.parse(readFileSync(DESCRIPTOR, "utf8")) });
}

async function load(moddle, file) {
  let xml;
  try {
    xml = readFileSync(file, "utf8");
  } catch (error) {
    return { problem: `ファイルを読めません（${error.code || "読み込みエラー"}）。パスと権限を確かめてください` };
  }
  try {
    const { rootElement } = await moddle.fromXML(xml, "bpmn:Definitions");
    return { definitions: rootElement };
  } catch {
    return { problem: "BPMN（XML）として読めません。ファイルが壊れていないか、BPMNのファイルかを確かめてください" };
  }
}

/** The vocabulary as deploy sees a batch: each file's processes are callable, and what each file
 * gives its conditions to read counts for the others. */
function withBatch(vocabulary, loaded) {
  const choices = { ...(vocabulary.choices || {}) };
  const known = [...(choices.processes || [])];
  const provided = { ...(vocabulary.deployed_fields || {}) };
  for (const { file, definitions } of loaded) {
    if (!definitions) continue;
    for (const process of executableProcesses(definitions)) {
      known.push({ value: process.id, label: process.name || process.id });
    }
    provided[`file:${file}`] = providedNames(definitions, vocabulary);
  }
  return { ...vocabulary, choices: { ...choices, processes: known }, deployed_fields: provided };
}

function flatten(results) {
  const reports = [];
  for (const [rule, found] of Object.entries(results)) {
    for (const report of found) {
      reports.push({ rule, id: report.id == null ? null : report.id, message: report.message });
    }
  }
  return reports;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  let vocabulary = readVocabulary(options.vocabulary);
  const moddle = makeModdle(options.generic);
  const loaded = [];
  for (const file of options.files) loaded.push({ file, ...(await load(moddle, file)) });
  if (options.batch) vocabulary = withBatch(vocabulary, loaded);
  const linter = new Linter(createLintConfig(vocabulary));
  const output = [];
  for (const { file, definitions, problem } of loaded) {
    const reports = problem
      ? [{ rule: "kasane/file", id: null, message: `${basename(file)}: ${problem}` }]
      : flatten(await linter.lint(definitions));
    output.push({ file, reports });
  }
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  process.exitCode = output.some((entry) => entry.reports.length) ? 1 : 0;
}

main();
