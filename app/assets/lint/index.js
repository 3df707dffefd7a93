// Kasane's lint rules as a bpmnlint plugin ("kasane/<rule>"), bound to the modeler's vocabulary
// (forms, record kinds, purposes, deployed processes). The same rules run in the modeler
// (bpmn-js-bpmnlint) and on the command line (cli.mjs); each mirrors a refusal of the server's
// deploy check (app/engine/specs.py, app/engine/checks.py, app/services/hooks.py).
import userTasks from "./rules/user-tasks.js";
import taskHooks from "./rules/task-hooks.js";
import timers from "./rules/timers.js";
import gatewayConditions from "./rules/gateway-conditions.js";
import expressions from "./rules/expressions.js";
import scripts from "./rules/scripts.js";
import unsupportedElements from "./rules/unsupported-elements.js";
import callActivities from "./rules/call-activities.js";
import messages from "./rules/messages.js";
import processes from "./rules/processes.js";
import sequenceFlows from "./rules/sequence-flows.js";
import formContract from "./rules/form-contract.js";

const RULES = {
  "user-tasks": userTasks,
  "task-hooks": taskHooks,
  timers,
  "gateway-conditions": gatewayConditions,
  expressions,
  scripts,
  "unsupported-elements": unsupportedElements,
  "call-activities": callActivities,
  messages,
  processes,
  "sequence-flows": sequenceFlows,
  "form-contract": formContract,
};
const PACKAGES = ["kasane", "bpmnlint-plugin-kasane"];

/**
 * `{ config, resolver }` for bpmn-js-bpmnlint's `linting: { bpmnlint: … }` option (and for
 * bpmnlint's Linter): every Kasane rule as an error, resolved to factories bound to `vocabulary`
 * (the dictionary of app/services/design/vocabulary.py).
 */
export function createLintConfig(vocabulary) {
  const factories = {};
  const rules = {};
  for (const [name, create] of Object.entries(RULES)) {
    factories[name] = create(vocabulary || {});
    rules[`kasane/${name}`] = "error";
  }
  const resolver = {
    resolveRule(pkg, name) {
      if (!PACKAGES.includes(pkg) || !factories[name]) throw new Error(`unknown rule <${pkg}/${name}>`);
      return factories[name];
    },
    resolveConfig(pkg, name) {
      throw new Error(`unknown config <${pkg}/${name}>`);
    },
  };
  return { config: { rules }, resolver };
}

export const RULE_NAMES = Object.keys(RULES);
