"""The contract between a diagram and what Kasane does at its tasks, checked at deploy.

Kasane never names a BPMN element in code. A user task says what its completion means with
properties: ``recordAs`` (which domain record its form writes: a plan, a referral, a 支援会議
record …) and ``sharesInformation`` (for which purpose completing it shares the case beyond the
window that holds it, so the consent check is made). A designer may rename, move or re-draw any
task; deploy refuses a diagram whose declarations do not hold together, naming the element and
what to do, so that records are never silently left unwritten and no sharing goes unchecked.
"""

from __future__ import annotations

from app.engine.specs import FORM_PROPERTY, DeployError, ProcessInfo, UserTaskInfo
from app.services.consent import PURPOSES
from app.services.records import RECORDERS

FORMS_RECORDED = {recorder.form: name for name, recorder in RECORDERS.items()}


def check(infos: list[ProcessInfo]) -> None:
    """Raise a DeployError for the first task whose declarations do not hold."""
    for info in infos:
        for task in info.user_tasks:
            problem = problem_of(task)
            if problem:
                raise DeployError(info.file_name, task.element_id, f"「{task.name}」: {problem}")


def problem_of(task: UserTaskInfo) -> str | None:
    """What is wrong with one task's declarations, in Japanese with what to do; None if nothing."""
    props = task.properties
    form = props.get(FORM_PROPERTY)
    record_as = props.get("recordAs")
    shares = props.get("sharesInformation")
    if shares is not None and shares not in PURPOSES:
        known = "、".join(PURPOSES)
        return f"sharesInformation「{shares}」は共有の目的にありません（{known} のいずれか）"
    if record_as is None:
        if form in FORMS_RECORDED:
            return (
                f'フォーム {form} の記録を書くには recordAs="{FORMS_RECORDED[form]}" を宣言して'
                "ください（宣言がないと記録が書かれません）"
            )
        return None
    recorder = RECORDERS.get(record_as)
    if recorder is None:
        known = "、".join(sorted(RECORDERS))
        return f"recordAs「{record_as}」は Kasane の記録の種類にありません（{known}）"
    if form != recorder.form:
        return (
            f"recordAs「{record_as}」はフォーム {recorder.form} を読みます（このタスクは {form}）"
        )
    if recorder.shares and shares != recorder.shares:
        return (
            f'この記録は情報を共有するため sharesInformation="{recorder.shares}" を宣言して'
            "ください（宣言がないと本人の同意が確かめられません）"
        )
    return None
