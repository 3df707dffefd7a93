"""SpiffWorkflow's own error messages in the words a designer needs, in Japanese, with what to do:
parse errors at deploy (:func:`parse_problem`) and failures while a process runs
(:func:`run_problem`). The first pattern that matches wins; anything unmatched gets a general
Japanese message, never the engine's English."""

from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask

# SpiffWorkflow's parse errors, in the words a designer needs (first match wins).
_PARSE_MESSAGES: list[tuple[str, str]] = [
    (
        r"No start event found",
        "開始イベントがありません。プロセスに開始イベントを1つ置いてください",
    ),
    (
        r"Exactly one start event is required in a SubWorkflow Task; found (\d+)",
        "サブプロセスには開始イベントがちょうど1つ必要です（今は {0} 個）。1つにしてください",
    ),
    (
        r"A SubWorkflow Must contain an End event",
        "サブプロセスに終了イベントがありません。終了イベントを置いてください",
    ),
    (
        r'No "calledElement" attribute',
        "呼び出すプロセス（calledElement）が指定されていません。呼び出すプロセスを選んでください",
    ),
    (
        r"Invalid Script Task",
        "スクリプトタスクにスクリプトがありません。Python のスクリプトを書いてください",
    ),
    (
        r"Non-default exclusive outgoing sequence flow without condition",
        "ゲートウェイから出るフローに条件がありません。条件式を書くか、既定のフロー（default）にしてください",
    ),
    (
        r"Cannot resolve data(Input|Output)Association",
        "データの入出力のつながり先（データオブジェクトなど）が見つかりません。"
        "同じプロセスの中のデータオブジェクトにつなぎ直すか、つながりを削除してください",
    ),
    (
        r"There is no support implemented for this task type",
        "この種類の要素は Kasane では実行できません。別の種類の要素で書き直してください",
    ),
    (
        r"Conditional event definition with missing condition",
        "条件イベントに条件式がありません。Python の式を書いてください（例: approved == True）",
    ),
    (
        r"Unknown Time Specification",
        'タイマーの種類と値が指定されていません。"P3D" のような値を書いてください',
    ),
    (
        r"Time Specification Error",
        'タイマーの値を読めません。"P3D" や "2030-04-01T09:00:00+09:00" のように書いてください',
    ),
    (
        r"No DMN Diagram available",
        "業務ルールタスクの DMN が見つかりません。Kasane は DMN を実行しないため、判定はゲートウェイの条件式で書いてください",
    ),
    (
        r"Multiple outgoing flows are not supported",
        "この要素からは複数のフローを出せません。分岐はゲートウェイで書いてください",
    ),
    (
        r"When looking for a task spec",
        "フローのつながり先が見つからないか、IDが重複しています。モデラーでフローをつなぎ直してください",
    ),
    (
        r"The process '([^']*)' was not found",
        "プロセス「{0}」が見つかりません。呼び出すプロセスを一緒にデプロイしてください",
    ),
    (
        r"Correlation is missing|Message identifier is missing from correlation",
        "相関プロパティの取得式（どのメッセージのどの値か）がありません。モデラーで相関プロパティを設定し直してください",
    ),
    (
        r"Sequential ordering for ad hoc",
        "アドホックサブプロセスの順次実行（Sequential）はできません。並行（Parallel）にしてください",
    ),
    (
        r"Ad hoc subprocesses may not contain start or end events",
        "アドホックサブプロセスに開始・終了イベントは置けません。削除してください",
    ),
    (
        r"(\w+) identifier is missing",
        "IDのない要素（{0}）があります。モデラーで開いて保存し直してください",
    ),
    (
        r"Expected a Message node",
        "指定されたメッセージが定義されていません。定義済みのメッセージを選んでください",
    ),
    (
        r"Duplicate process ID: (.*)",
        "プロセスID「{0}」が重複しています。どちらかのIDを変えてください",
    ),
    (
        r"Cancel Events may only be used with transactions",
        "キャンセルの境界イベントはトランザクションにだけ付けられます。"
        "トランザクションにするか、エラーの境界イベントにしてください",
    ),
    (
        r"A loopMaximum or loopCondition must be specified",
        "繰り返しタスクに上限（loopMaximum）か終了条件（loopCondition）を指定してください",
    ),
    (
        r"must specify exactly one of cardinality or",
        "マルチインスタンスには回数（loopCardinality）か入力コレクション（loopDataInputRef）の"
        "どちらか一方だけを指定してください",
    ),
    (
        r"A multiinstance task must specify a cardinality",
        "マルチインスタンスに回数（loopCardinality）も入力コレクション（loopDataInputRef）も"
        "指定されていません。どちらかを指定してください",
    ),
    (
        r"The loop (?:input|output) data reference is missing",
        "マルチインスタンスの入出力データが入出力の定義（ioSpecification）にありません。"
        "モデラーで入出力を設定し直してください",
    ),
    (
        r"Expected an? (?:Signal|Error|error|Escalation) node",
        "参照しているシグナル・エラー・エスカレーションの定義がありません。定義済みのものを選んでください",
    ),
    (
        r"Data Store",
        "データストアは Kasane では使えません。データはフォームとプロセスの変数で扱い、"
        "データストアを図から削除してください",
    ),
    (r"is not executable", '実行可能（isExecutable="true"）になっていません'),
]


def parse_problem(exc: BaseException) -> str:
    """A SpiffWorkflow parse error in Japanese, with what to do."""
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    for pattern, message in _PARSE_MESSAGES:
        match = re.search(pattern, text)
        if match:
            return message.format(*match.groups())
    return (
        "実行エンジンがこの要素を解釈できませんでした。要素の種類と設定を見直すか、"
        "モデラーで開いて保存し直してください"
    )


# SpiffWorkflow's run-time errors, in Japanese with what to do ({var}: the data named).
_RUN_MESSAGES: list[tuple[str, str]] = [
    (
        r"No conditions satisfied",
        "どの条件にも当てはまらず、ゲートウェイから先へ進めません。"
        "既定のフロー（default）を設けるか、条件式を見直してください",
    ),
    (
        r"Missing data input for multiinstance|data input must be iterable",
        "繰り返し（マルチインスタンス）の入力コレクション「{var}」がないか、一覧ではありません。"
        "開始データか前のタスクで「{var}」にリストを入れてください",
    ),
    (
        r"Multiinstance (?:input|output) item (\S+) already exists",
        "繰り返しの各回の変数「{0}」がすでにプロセスのデータにあります。"
        "各回の変数には、ほかで使っていない名前を付けてください",
    ),
    (
        r"Expected an output item",
        "繰り返しの各回が出力の変数を作りませんでした。各回の処理で出力の変数に値を入れてください",
    ),
    (
        r"Only a mutable map",
        "繰り返しの出力先「{var}」はリストか辞書にしてください",
    ),
    (
        r"required Data Input for a call activity|Missing data input",
        "入力データ「{var}」がありません。前のタスクか開始データで「{var}」に値を入れてください",
    ),
    (
        r"Data Output was not available|Missing data ouput",
        "出力データ「{var}」が作られませんでした。処理の中で「{var}」に値を入れてください",
    ),
    (
        r"data object could not be (?:read|set)",
        "データオブジェクト「{var}」を読み書きできません。データオブジェクトの置き場所を見直してください",
    ),
    (
        r"The (?:subprocess|called process) '([^']*)' was not found",
        "呼び出すプロセス「{0}」が見つかりません。呼び出し先を一緒にデプロイし直してください",
    ),
]


def run_problem(exc: BaseException, task_spec: Any) -> str:
    """What the engine's failure means for the designer, in Japanese."""
    if isinstance(task_spec, ServiceTask):
        return (
            "サービスタスクは Kasane では実行できません。"
            "ユーザータスクかスクリプトタスクに置き換えた版をデプロイしてください"
        )
    text = str(exc.args[0]) if exc.args else ""
    if (
        isinstance(task_spec, MultiInstanceTask)
        and isinstance(exc, TypeError)
        and "iterable" in text
    ):
        text = "Multiinstance data input must be iterable"
    data = getattr(exc, "data_input", None) or getattr(exc, "data_output", None)
    if data is None and task_spec is not None:
        data = getattr(task_spec, "data_input", None)
    var = getattr(data, "bpmn_id", None) or "?"
    for pattern, message in _RUN_MESSAGES:
        match = re.search(pattern, text)
        if match:
            return message.format(*match.groups(), var=var)
    return (
        "実行エンジンがこの要素で処理を続けられませんでした。"
        "図の設定（データ・条件・繰り返し）を見直してください"
    )
