"""How deploy refuses a BPMN document: the file, the element (id, name, kind) and the problem."""

from __future__ import annotations

from typing import Any

from lxml import etree

from app.engine import namespaces

# What a designer calls each BPMN element, for messages.
KINDS_JA = {
    "definitions": "定義",
    "process": "プロセス",
    "collaboration": "コラボレーション",
    "participant": "プール",
    "lane": "レーン",
    "task": "タスク",
    "userTask": "ユーザータスク",
    "manualTask": "手作業タスク",
    "scriptTask": "スクリプトタスク",
    "serviceTask": "サービスタスク",
    "businessRuleTask": "業務ルールタスク",
    "sendTask": "送信タスク",
    "receiveTask": "受信タスク",
    "callActivity": "呼び出しアクティビティ",
    "subProcess": "サブプロセス",
    "transaction": "トランザクション",
    "adHocSubProcess": "アドホックサブプロセス",
    "startEvent": "開始イベント",
    "endEvent": "終了イベント",
    "intermediateCatchEvent": "中間イベント",
    "intermediateThrowEvent": "中間イベント",
    "boundaryEvent": "境界イベント",
    "exclusiveGateway": "排他ゲートウェイ",
    "inclusiveGateway": "包含ゲートウェイ",
    "parallelGateway": "並行ゲートウェイ",
    "eventBasedGateway": "イベントベースゲートウェイ",
    "complexGateway": "複合ゲートウェイ",
    "sequenceFlow": "シーケンスフロー",
    "message": "メッセージ",
    "signal": "シグナル",
    "error": "エラー",
    "escalation": "エスカレーション",
    "correlationKey": "相関キー",
    "correlationProperty": "相関プロパティ",
    "dataStore": "データストア",
    "dataStoreReference": "データストア",
    "dataObject": "データオブジェクト",
    "dataObjectReference": "データオブジェクト",
    "conditionExpression": "条件式",
    "script": "スクリプト",
    "timerEventDefinition": "タイマー",
    "messageEventDefinition": "メッセージの定義",
    "BPMNDiagram": "図",
    "BPMNPlane": "図",
    "BPMNShape": "図形",
    "BPMNEdge": "線",
}


class DeployError(Exception):
    """A BPMN document that must not be deployed: which file, which element, what is wrong."""

    def __init__(
        self,
        file_name: str,
        element_id: str | None,
        problem: str,
        element_name: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.element_id = element_id or "-"
        self.element_name = element_name or None
        self.problem = problem
        super().__init__(self.describe())

    @property
    def element(self) -> str | None:
        """The element the refusal names, or None when it concerns the whole file."""
        return None if self.element_id == "-" else self.element_id

    def describe(self) -> str:
        if self.element_id == "-":
            return f"{self.file_name}: {self.problem}"
        name = f"「{self.element_name}」" if self.element_name else ""
        return f"{self.file_name}: 要素 {self.element_id}{name}: {self.problem}"


def local_name(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def kind_ja(node: Any) -> str:
    """The element's kind as a designer says it (ユーザータスク …), or its tag."""
    name = local_name(node)
    return KINDS_JA.get(name, name)


def name_of(node: Any) -> str | None:
    """An element's name on one line (diagram names often carry line breaks)."""
    name = node.get("name")
    return " ".join(name.split()) if name and name.strip() else None


# Parts of an element that carry ids of their own but that a designer does not see as elements:
# a refusal about them names the event, task or flow they belong to.
_PARTS = frozenset((
    "condition", "script", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
    "completionCondition", "ioSpecification", "dataInput", "dataOutput", "inputSet", "outputSet",
    "dataInputAssociation", "dataOutputAssociation", "documentation", "extensionElements",
    "conditionExpression", "formalExpression", "expression",
))  # fmt: skip


def _is_part(name: str) -> bool:
    return name in _PARTS or name.endswith(("EventDefinition", "LoopCharacteristics"))


def owner(node: Any) -> Any:
    """The element a designer sees at or above ``node``: the nearest BPMN element with an id
    that is not a part of another (an event definition names its event)."""
    current = node
    while current is not None:
        if (
            isinstance(current.tag, str)
            and current.get("id")
            and etree.QName(current).namespace == namespaces.BPMN
            and not _is_part(etree.QName(current).localname)
        ):
            return current
        current = current.getparent()
    return node


def refuse(file_name: str, node: Any | None, problem: str) -> DeployError:
    """A DeployError naming the element at or above ``node`` by id and name."""
    if node is None:
        return DeployError(file_name, None, problem)
    element = owner(node)
    return DeployError(file_name, element.get("id"), problem, name_of(element))
