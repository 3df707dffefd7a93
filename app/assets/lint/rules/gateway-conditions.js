// An exclusive or inclusive gateway with more than one way out needs a condition on every
// outgoing flow except its default one (the engine refuses the diagram otherwise).
// Mirrors SpiffWorkflow's ConditionalGatewayParser as app/engine/specs.py runs it at deploy.
import { fileRule, isKind, outgoingFlows, runnableElements } from "./helpers.js";

export default function gatewayConditions() {
  return fileRule((definitions, report) => {
    for (const gateway of runnableElements(definitions)) {
      if (!isKind(gateway, "bpmn:ExclusiveGateway", "bpmn:InclusiveGateway")) continue;
      const flows = outgoingFlows(gateway);
      if (flows.length < 2) continue;
      for (const flow of flows) {
        // As the engine: only a condition element without text counts as no condition.
        const condition = flow.conditionExpression;
        const written = condition && condition.body != null && condition.body !== "";
        if (flow !== gateway.default && !written) {
          report(
            flow,
            "ゲートウェイから出るフローに条件がありません。条件式を書くか、既定のフロー（default）にしてください",
          );
        }
      }
    }
  });
}
