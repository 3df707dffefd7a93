"""The task forms in forms/: well-formed, in Japanese, in step with the BPMN gateways, validating as meant.

No database: the schemas are read from disk and checked with ``app.services.forms.errors_for``.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from app.services.demo import AGENCIES
from app.services.forms import errors_for, fill_pickers

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
PROCESSES = ROOT / "processes"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
SENSITIVITY = {"P", "R", "X"}

REQUIRED_MSG = "必須項目です。入力してください。"
EMPTY_MSG = "入力してください。"
CHOICE_MSG = "選択肢の中から選んでください。"
DATE_MSG = "日付（YYYY-MM-DD）の形式で入力してください。"
PATTERN_MSG = "入力の形式が正しくありません。"
PICKER_MSG = "選択肢の中から選んでください。"

EXPECTED_FORMS = {
    "intake",
    "first_assessment",
    "window_support",
    "referral_review",
    "support_council",
    "outreach_visit",
    "coordination_intake",
    "assessment",
    "support_plan",
    "plan_conference",
    "support_decision",
    "monitoring",
    "evaluation",
    "resumption",
    "handover",
    "escalation",
    "participation_matching",
    "participation_placement",
    "participation_retention",
    "outreach_followup",
}

# The contract with the BPMN gateways and timers: variable → the exact set of values the form offers.
CONTRACT: dict[str, dict[str, set[str]]] = {
    "first_assessment": {
        "decision": {"window", "referral", "coordination"},
        "consent": {"given", "not_given"},
    },
    "window_support": {"window_outcome": {"continue", "close"}},
    "referral_review": {"referral_accepted": {"accepted", "declined"}},
    "support_council": {
        "council_course": {"outreach", "watch", "emergency"},
        "revisit_after": {"P7D", "P14D", "P30D"},
    },
    "outreach_visit": {"visit_result": {"continue", "consent_obtained", "back_to_council"}},
    "coordination_intake": {"coordination_decision": {"accept", "return"}},
    "plan_conference": {"conference_outcome": {"approve", "revise", "return_to_primary"}},
    "monitoring": {
        "monitoring_outcome": {"continue", "revise_plan", "reassess", "propose_termination"}
    },
    "evaluation": {
        "evaluation_decision": {"closure", "interruption", "continue"},
        "closure_type": {
            "goal_achieved",
            "moved_to_primary",
            "person_wish",
            "moved_out",
            "death",
            "other_system",
        },
    },
    "resumption": {"resume_from": {"monitoring", "assessment"}},
    "participation_matching": {
        "match_result": {"matched", "not_found"},
        "resource_kind": {"place", "work_trial", "housing", "watching"},
        "retention_check_after": {"P14D", "P30D", "P60D"},
    },
    "participation_retention": {
        "retention_status": {"retained", "follow_up", "ended"},
        "retention_check_after": {"P14D", "P30D", "P60D"},
    },
    "outreach_followup": {
        "followup_result": {"continue", "linked"},
        "next_visit_after": {"P7D", "P14D", "P30D"},
    },
}

# Always required (a missing one must be reported at that field).
REQUIRED: dict[str, set[str]] = {
    "intake": {"received_on", "concerns"},
    "first_assessment": {"decision"},
    "window_support": {"support_content", "window_outcome"},
    "referral_review": {"referral_accepted"},
    "support_council": {"meeting_date", "all_members_pledged", "council_course", "revisit_after"},
    "outreach_visit": {"visit_date", "visit_result"},
    "coordination_intake": {"coordination_decision"},
    "support_plan": {
        "goals",
        "primary_agency",
        "plan_start",
        "plan_end",
        "review_date",
        "participation_requested",
        "outreach_requested",
        "person_consented",
    },
    "plan_conference": {"conference_date", "conference_outcome", "resources_sufficient"},
    "support_decision": {"decision_date"},
    "monitoring": {"monitored_on", "monitoring_outcome"},
    "evaluation": {"evaluated_on", "goal_results", "evaluation_decision"},
    "resumption": {"resumed_on", "resume_from"},
    "handover": {"received_on", "handover_note"},
    "escalation": {"checked_on", "action"},
    "participation_matching": {"match_result"},
    "participation_placement": {"started_on"},
    "participation_retention": {"checked_on", "retention_status"},
    "outreach_followup": {"visit_date", "followup_result"},
}

CONCERN_CODES = [
    "health_disability",
    "housing",
    "income",
    "rent_loan",
    "tax_utilities",
    "debt",
    "job_search",
    "work_worries",
    "community_relations",
    "family_relations",
    "childcare",
    "care",
    "hikikomori_truancy",
    "dv_abuse",
    "no_food",
    "other",
]
CONCERN_TITLES = [
    "健康・障害",
    "住まい",
    "収入・生活費",
    "家賃・ローン",
    "税・公共料金",
    "債務",
    "仕事探し",
    "仕事上の不安",
    "地域との関係",
    "家族との関係",
    "子育て",
    "介護",
    "ひきこもり・不登校",
    "DV・虐待",
    "食べるものがない",
    "その他",
]

# Variables the BPMN reads that the case sets when it starts (app.services.cases); the municipality
# settings (app.services.settings.DEFINITIONS) are added where the check runs.
CASE_START_DATA = {"case_number", "cycle", "intake_agency", "primary_agency"}

# ---------------------------------------------------------------- one realistic example per form
# An 8050 household: a mother in her eighties who needs care and a son in his fifties who has
# stayed at home for twenty years.
VALID: dict[str, dict[str, Any]] = {
    "intake": {
        "received_on": "2025-04-08",
        "route": "minsei_iin",
        "route_detail": "地区の民生委員から、本人（母）と同居の長男について",
        "method": "home_visit",
        "anonymous": False,
        "about_third_party": True,
        "person": {
            "name": "山田 花子",
            "kana": "ヤマダ ハナコ",
            "birth_date": "1942-06-15",
            "sex": "female",
            "address": "中央市本町1-2-3",
            "phone": "090-1234-5678",
            "contact_note": "午前中は通院で不在のことが多い。",
        },
        "concerns": ["care", "hikikomori_truancy", "income"],
        "most_pressing": "care",
        "concern_detail": "足腰が弱り家事が難しくなった。長男は長く自宅にこもっており頼れない。",
        "wishes": "できるだけ自宅で暮らし続けたい。",
        "consent_given": True,
        "consent_scope": {
            "agencies": ["elderly-center", "poverty-center"],
            "purposes": ["referral", "coordination"],
            "info_kinds": ["basic", "household", "consultation", "health_disability"],
            "purpose": "介護サービスの利用と世帯の生活の立て直しを相談するため",
        },
        "consent_date": "2025-04-08",
    },
    "first_assessment": {
        "assessed_on": "2025-04-10",
        "household_members": [
            {
                "relation": "本人",
                "age_group": "age_75_plus",
                "living_together": True,
                "role": "none",
                "involved_window": "elderly-center",
                "involved_contact": "担当 佐藤（0120-000-000）",
            },
            {
                "relation": "長男",
                "age_group": "age_40_64",
                "living_together": True,
                "role": "key_person",
            },
        ],
        "household_note": "母と長男の二人暮らし。収入は母の年金のみ。",
        "main_complaint": "介護が必要になってきたが、長男が20年以上自宅にこもっていて頼れない。",
        "concerns": ["care", "hikikomori_truancy", "income"],
        "most_pressing": "care",
        "urgency": "medium",
        "decision": "coordination",
        "consent": "given",
        "decision_reason": "介護・ひきこもり・家計の課題が重なり、一つの窓口では対応が難しい。",
    },
    "window_support": {
        "supported_on": "2025-04-15",
        "support_content": "要介護認定の申請を手伝い、訪問介護の利用を調整した。",
        "situation_note": "ヘルパーの訪問は受け入れている。",
        "window_outcome": "continue",
    },
    "referral_review": {
        "reviewed_on": "2025-04-12",
        "referral_accepted": "accepted",
        "contact_person": "くらし自立相談支援窓口 佐藤（0123-45-6789）",
    },
    "support_council": {
        "meeting_date": "2025-04-20",
        "members_present": [
            "福祉総務課 田中（議長）",
            "中央地域包括支援センター 鈴木",
            "民生委員 高橋",
        ],
        "all_members_pledged": True,
        "shared_summary": "長男は20年以上自宅にこもっている。母の介護が必要だが、長男とはまだ話せていない。",
        "approach_by": "elderly-center",
        "urgency": "medium",
        "council_course": "outreach",
        "revisit_after": "P14D",
        "action_items": [
            {
                "task": "ヘルパー訪問の際に長男あての手紙を渡す",
                "owner": "中央地域包括支援センター 鈴木",
                "due": "2025-05-02",
            }
        ],
    },
    "outreach_visit": {
        "visit_date": "2025-05-01",
        "method": "visit",
        "contact_made": True,
        "notes": "玄関越しに短い会話ができた。母のことは心配している様子。",
        "visit_result": "consent_obtained",
        "consent_scope": "地域包括支援センターと多機関協働の担当者に、家族の状況を伝えてよい。",
    },
    "coordination_intake": {
        "received_on": "2025-04-14",
        "agencies_involved": [
            {
                "agency": "中央地域包括支援センター",
                "struggle": "母の介護サービスを増やしたいが、長男が訪問を嫌がる。",
            },
            {"agency": "くらし自立相談支援窓口", "struggle": "家計の状況がつかめない。"},
        ],
        "coordination_decision": "accept",
    },
    "assessment": {
        "assessed_on": "2025-04-25",
        "main_complaint": "母の介護と、長男の今後の生活が心配。",
        "household_composition": "母（83歳、要介護1）と長男（54歳、無職）の二人暮らし。",
        "issue_domains": ["care", "hikikomori_truancy", "income", "tax_utilities"],
        "issue_notes": "固定資産税の滞納がある。長男は就労経験が短い。",
        "agencies_involved": [
            {"agency": "中央地域包括支援センター", "involvement": "要介護認定と訪問介護"},
        ],
        "wishes": "母は自宅で暮らし続けたい。長男は母の世話は自分がしたいと話す。",
        "strengths": "近所の商店主と長男に昔からの付き合いがある。",
        "urgency": "medium",
        "risk": "母の転倒の危険。母が入院すると長男の生活が立ち行かなくなる。",
    },
    "support_plan": {
        "policy": "母の在宅生活を支えながら、長男が社会とのつながりを取り戻せるよう段階的に関わる。",
        "goals": [
            {
                "goal": "母が介護サービスを使いながら自宅で暮らせる",
                "support_content": "訪問介護と通所介護の調整",
                "responsible_agency": "中央地域包括支援センター",
                "staff": "鈴木",
                "frequency": "月1回",
                "period": "プランの期間中",
            },
            {
                "goal": "長男が週1回外出できる",
                "support_content": "アウトリーチ支援員の訪問と居場所への同行",
                "responsible_agency": "福祉総務課（アウトリーチ）",
                "frequency": "週1回",
                "period": "6か月",
            },
        ],
        "primary_agency": "elderly-center",
        "plan_start": "2025-05-15",
        "plan_end": "2025-11-14",
        "review_date": "2025-06-15",
        "participation_requested": True,
        "participation_request_note": "長男が通える居場所を探してほしい。",
        "outreach_requested": True,
        "outreach_request_note": "長男への定期的な訪問。",
        "person_consented": True,
        "consented_on": "2025-05-10",
    },
    "plan_conference": {
        "conference_date": "2025-05-20",
        "attendees": [
            "福祉総務課 田中",
            "中央地域包括支援センター 鈴木",
            "くらし自立相談支援窓口 佐藤",
        ],
        "conference_outcome": "approve",
        "resources_sufficient": False,
        "resource_gaps": "中高年のひきこもりの人が日中に通える居場所が市内に少ない。",
    },
    "support_decision": {
        "decision_date": "2025-05-22",
        "decision_number": "福総第123号",
        "note": "重層的支援会議の承認を受けて決定。",
    },
    "monitoring": {
        "monitored_on": "2025-06-15",
        "trigger": "scheduled",
        "goal_progress": [
            {
                "goal": "母が介護サービスを使いながら自宅で暮らせる",
                "progress": "週2回の通所を続けている。",
            },
            {"goal": "長男が週1回外出できる", "progress": "支援員と近所の公園まで外出できた。"},
        ],
        "situation": "大きな変化なし。",
        "monitoring_outcome": "continue",
        "next_review_date": "2025-07-15",
    },
    "evaluation": {
        "evaluated_on": "2025-11-10",
        "goal_results": [
            {"goal": "母が介護サービスを使いながら自宅で暮らせる", "result": "achieved"},
            {
                "goal": "長男が週1回外出できる",
                "result": "partly",
                "comment": "居場所には月2回通えている。",
            },
        ],
        "resource_gaps": "中高年向けの居場所の不足。",
        "evaluation_decision": "closure",
        "closure_type": "moved_to_primary",
        "next_primary_agency": "elderly-center",
    },
    "resumption": {
        "resumed_on": "2026-01-10",
        "reason": "母の入院をきっかけに、長男から相談があった。",
        "resume_from": "monitoring",
        "next_review_date": "2026-02-10",
    },
    "handover": {
        "received_on": "2025-11-12",
        "handover_note": "母の介護は地域包括支援センターが引き続き担当。長男の居場所は社協の担当者と連絡を取り合う。",
        "contact_person": "中央地域包括支援センター 鈴木",
    },
    "escalation": {
        "checked_on": "2025-05-30",
        "cause": "担当者の長期休暇で合同アセスメントの日程が決まっていなかった。",
        "action": "担当を佐藤に変更し、6月5日に実施することにした。",
    },
    "participation_matching": {
        "person_needs": "人の少ない時間帯に、体を動かす作業がしたい。",
        "match_result": "matched",
        "resource_kind": "work_trial",
        "resource_name": "みどり農園（就労体験）",
        "host_contact": "園主 中村（0123-11-2233）",
        "matched_on": "2025-06-20",
        "retention_check_after": "P30D",
    },
    "participation_placement": {
        "started_on": "2025-07-01",
        "support_for_person": "初回は参加支援員が同行する。",
        "support_for_host": "本人の特性と、無理をさせない声かけを園主に伝えた。",
    },
    "participation_retention": {
        "checked_on": "2025-08-01",
        "situation": "週1回、午前中の作業に通えている。",
        "retention_status": "follow_up",
        "retention_check_after": "P30D",
    },
    "outreach_followup": {
        "visit_date": "2025-06-05",
        "method": "accompany",
        "notes": "居場所の見学に同行した。帰り道に自分から話をしてくれた。",
        "followup_result": "continue",
        "next_visit_after": "P14D",
    },
}

DROP = object()


def changed(form: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of the form's valid example with dotted paths (``goals.0.goal``) set or dropped."""
    data = copy.deepcopy(VALID[form])
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DROP:
            del node[key]
        else:
            node[key] = value
    return data


# Other data that must pass: conditional fields are only required when their condition holds.
ALSO_VALID: list[tuple[str, dict[str, Any]]] = [
    ("first_assessment", {"decision": "window"}),
    ("first_assessment", {"decision": "coordination", "consent": "not_given"}),
    (
        "first_assessment",
        {
            "decision": "referral",
            "referral_to": "poverty-center",
            "referral_purpose": "家計の立て直しについての相談",
        },
    ),
    ("intake", {"received_on": "2025-04-08", "anonymous": True, "concerns": ["no_food"]}),
    (
        "window_support",
        changed(
            "window_support",
            {"window_outcome": "close", "closure_reason": "介護サービスの利用が安定したため"},
        ),
    ),
    (
        "referral_review",
        {"referral_accepted": "declined", "decline_reason": "当窓口の対象外のため"},
    ),
    (
        "support_council",
        changed("support_council", {"council_course": "emergency", "action_items": DROP}),
    ),
    ("outreach_visit", {"visit_date": "2025-05-01", "visit_result": "continue"}),
    ("coordination_intake", {"coordination_decision": "return", "return_advice": "まず家計相談を"}),
    (
        "plan_conference",
        {
            "conference_date": "2025-05-20",
            "conference_outcome": "revise",
            "revision_points": "役割分担を具体的に",
            "resources_sufficient": True,
        },
    ),
    (
        "plan_conference",
        {
            "conference_date": "2025-05-20",
            "conference_outcome": "return_to_primary",
            "resources_sufficient": True,
        },
    ),
    (
        "monitoring",
        {"monitored_on": "2025-06-20", "trigger": "crisis", "monitoring_outcome": "reassess"},
    ),
    (
        "evaluation",
        changed(
            "evaluation",
            {
                "evaluation_decision": "interruption",
                "closure_type": DROP,
                "next_primary_agency": DROP,
                "interruption_reason": "本人が入院したため",
            },
        ),
    ),
    (
        "evaluation",
        changed(
            "evaluation",
            {
                "evaluation_decision": "continue",
                "closure_type": DROP,
                "next_primary_agency": DROP,
                "next_review_date": "2025-12-10",
            },
        ),
    ),
    ("resumption", {"resumed_on": "2026-01-10", "resume_from": "assessment"}),
    ("participation_matching", {"match_result": "not_found", "unmet_need": "夜間に通える居場所"}),
    ("participation_retention", {"checked_on": "2025-08-01", "retention_status": "retained"}),
    (
        "participation_retention",
        {"checked_on": "2025-08-01", "retention_status": "ended", "end_reason": "本人の体調不良"},
    ),
    (
        "outreach_followup",
        {
            "visit_date": "2025-06-05",
            "followup_result": "linked",
            "linked_agency": "障害者相談支援センター",
        },
    ),
]

# (form, changes, field, expected message or None for "any message").
INVALID: list[tuple[str, dict[str, Any], str, str | None]] = [
    # conditional requirements
    ("first_assessment", {"consent": DROP}, "consent", REQUIRED_MSG),
    (
        "first_assessment",
        {"decision": "referral", "consent": DROP, "referral_purpose": "家計の相談"},
        "referral_to",
        REQUIRED_MSG,
    ),
    (
        "first_assessment",
        {"decision": "referral", "referral_to": "poverty-center"},
        "referral_purpose",
        REQUIRED_MSG,
    ),
    (
        "first_assessment",
        {"decision": "referral", "referral_to": "poverty-center", "referral_purpose": ""},
        "referral_purpose",
        EMPTY_MSG,
    ),
    (
        "first_assessment",
        {"decision": "referral", "referral_to": "くらし窓口", "referral_purpose": "家計"},
        "referral_to",
        PICKER_MSG,
    ),
    ("intake", {"consent_date": DROP}, "consent_date", REQUIRED_MSG),
    ("window_support", {"window_outcome": "close"}, "closure_reason", REQUIRED_MSG),
    ("referral_review", {"referral_accepted": "declined"}, "decline_reason", REQUIRED_MSG),
    ("outreach_visit", {"consent_scope": DROP}, "consent_scope", REQUIRED_MSG),
    ("coordination_intake", {"coordination_decision": "return"}, "return_advice", REQUIRED_MSG),
    ("plan_conference", {"conference_outcome": "revise"}, "revision_points", REQUIRED_MSG),
    ("plan_conference", {"resource_gaps": DROP}, "resource_gaps", REQUIRED_MSG),
    ("monitoring", {"next_review_date": DROP}, "next_review_date", REQUIRED_MSG),
    ("evaluation", {"next_primary_agency": DROP}, "next_primary_agency", REQUIRED_MSG),
    ("evaluation", {"closure_type": DROP}, "closure_type", REQUIRED_MSG),
    ("evaluation", {"next_primary_agency": "地域包括"}, "next_primary_agency", PICKER_MSG),
    ("evaluation", {"evaluation_decision": "interruption"}, "interruption_reason", REQUIRED_MSG),
    ("evaluation", {"evaluation_decision": "continue"}, "next_review_date", REQUIRED_MSG),
    ("resumption", {"next_review_date": DROP}, "next_review_date", REQUIRED_MSG),
    ("participation_matching", {"host_contact": DROP}, "host_contact", REQUIRED_MSG),
    (
        "participation_matching",
        {"retention_check_after": DROP},
        "retention_check_after",
        REQUIRED_MSG,
    ),
    ("participation_matching", {"match_result": "not_found"}, "unmet_need", REQUIRED_MSG),
    (
        "participation_retention",
        {"retention_check_after": DROP},
        "retention_check_after",
        REQUIRED_MSG,
    ),
    ("participation_retention", {"retention_status": "ended"}, "end_reason", REQUIRED_MSG),
    ("outreach_followup", {"next_visit_after": DROP}, "next_visit_after", REQUIRED_MSG),
    ("outreach_followup", {"followup_result": "linked"}, "linked_agency", REQUIRED_MSG),
    # confirmations that must be true
    (
        "support_plan",
        {"person_consented": False},
        "person_consented",
        "本人の同意を確認してから登録してください。",
    ),
    (
        "support_council",
        {"all_members_pledged": False},
        "all_members_pledged",
        "守秘義務の誓約がない構成員がいる場合は記録できません。",
    ),
    # lists, nested items, lengths, types, unknown fields
    ("support_plan", {"goals": []}, "goals", "目標を1件以上入力してください。"),
    (
        "support_plan",
        {"goals.0.responsible_agency": DROP},
        "goals.0.responsible_agency",
        REQUIRED_MSG,
    ),
    ("support_plan", {"goals.1.goal": ""}, "goals.1.goal", EMPTY_MSG),
    (
        "support_plan",
        {"participation_requested": "はい"},
        "participation_requested",
        "はい／いいえで入力してください。",
    ),
    (
        "evaluation",
        {"goal_results": []},
        "goal_results",
        "目標ごとの結果を1件以上入力してください。",
    ),
    ("evaluation", {"goal_results.1.result": "somewhat"}, "goal_results.1.result", CHOICE_MSG),
    ("intake", {"concerns": []}, "concerns", "1件以上選んでください。"),
    ("intake", {"concerns": ["care", "aliens"]}, "concerns.1", CHOICE_MSG),
    ("intake", {"concerns": ["care", "care"]}, "concerns", "同じものが重複しています。"),
    (
        "intake",
        {"consent_scope.info_kinds": ["basic", "bank_account"]},
        "consent_scope.info_kinds.1",
        CHOICE_MSG,
    ),
    ("intake", {"person.sex": "f"}, "person.sex", CHOICE_MSG),
    ("intake", {"person.birth_date": "昭和17年6月15日"}, "person.birth_date", DATE_MSG),
    ("intake", {"person.phone": "090-1234-ABCD"}, "person.phone", PATTERN_MSG),
    (
        "first_assessment",
        {"household_members.1.role": "parent"},
        "household_members.1.role",
        CHOICE_MSG,
    ),
    (
        "window_support",
        {"support_content": "あ" * 4001},
        "support_content",
        "4000文字以内で入力してください。",
    ),
    ("window_support", {"support_content": ""}, "support_content", EMPTY_MSG),
    ("handover", {"handover_note": ""}, "handover_note", EMPTY_MSG),
    ("assessment", {"favourite_colour": "青"}, "_form", "このフォームにない項目が含まれています。"),
    (
        "support_council",
        {"action_items.0.secret": "x"},
        "action_items.0",
        "このフォームにない項目が含まれています。",
    ),
    ("support_council", {"revisit_after": "P90D"}, "revisit_after", CHOICE_MSG),
    ("support_council", {"approach_by": "Elderly Center"}, "approach_by", PICKER_MSG),
]


# ------------------------------------------------------------------------------------- helpers
@cache
def load(form: str) -> dict[str, Any]:
    """A form as staff get it: agency pickers list the demo agencies (names shown, codes kept)."""
    raw = json.loads((FORMS / f"{form}.schema.json").read_text(encoding="utf-8"))
    return fill_pickers(raw, lambda kind: [(code, name) for code, name, _ in AGENCIES])


def form_names() -> list[str]:
    return sorted(p.name.removesuffix(".schema.json") for p in FORMS.glob("*.schema.json"))


def fields(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every data field (not the ``if``/``then`` fragments): top-level, nested and in array items."""
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, prop
        yield from fields(prop, path + ".")
        items = prop.get("items")
        if isinstance(items, dict):
            yield from fields(items, path + ".*.")


def object_schemas(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The schema itself and every nested object schema of a data field."""
    if schema.get("type") == "object":
        yield path or "(top)", schema
    for name, prop in schema.get("properties", {}).items():
        yield from object_schemas(prop, f"{path}{name}.")
        if isinstance(prop.get("items"), dict):
            yield from object_schemas(prop["items"], f"{path}{name}.*.")


def choices(prop: dict[str, Any]) -> set[str] | None:
    if "oneOf" in prop:
        return {option["const"] for option in prop["oneOf"]}
    if "enum" in prop:
        return set(prop["enum"])
    return None


def has_japanese(text: Any) -> bool:
    return isinstance(text, str) and any(ord(ch) > 127 for ch in text)


def bpmn_trees() -> list[tuple[str, Any]]:
    return [(p.name, etree.parse(str(p))) for p in sorted(PROCESSES.glob("*.bpmn"))]


def user_tasks(xpath: str = "//bpmn:userTask") -> list[tuple[str, str, str | None]]:
    """(bpmn file, element id, form file name or None) for every user task (or other elements)."""
    found = []
    for file_name, tree in bpmn_trees():
        for task in tree.xpath(xpath, namespaces=NS):
            values = task.xpath(
                ".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS
            )
            found.append((file_name, task.get("id"), values[0] if values else None))
    return found


def gateway_comparisons() -> list[tuple[str, str, str, str]]:
    """(gateway, form, variable, value) for each ``var == 'value'`` on a gateway right after a user task."""
    comparison = re.compile(r"(\w+)\s*(?:==|!=)\s*'([^']*)'")
    found = []
    for _, tree in bpmn_trees():
        forms = {}
        for task in tree.xpath("//bpmn:userTask", namespaces=NS):
            values = task.xpath(
                ".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS
            )
            if values:
                forms[task.get("id")] = values[0].removesuffix(".schema.json")
        flows = tree.xpath("//bpmn:sequenceFlow", namespaces=NS)
        for gateway in tree.xpath("//bpmn:exclusiveGateway", namespaces=NS):
            gid = gateway.get("id")
            sources = {f.get("sourceRef") for f in flows if f.get("targetRef") == gid}
            for source in sources & forms.keys():
                for flow in flows:
                    if flow.get("sourceRef") != gid:
                        continue
                    for expr in flow.xpath("bpmn:conditionExpression/text()", namespaces=NS):
                        for var, value in comparison.findall(expr):
                            found.append((gid, forms[source], var, value))
    return found


def variables_read_by_bpmn() -> set[str]:
    """Names loaded by condition, timer and script expressions in all processes."""
    expressions = []
    for _, tree in bpmn_trees():
        for xpath in (
            "//bpmn:conditionExpression/text()",
            "//bpmn:timeDuration/text()",
            "//bpmn:timeDate/text()",
            "//bpmn:timeCycle/text()",
            "//bpmn:script/text()",
        ):
            expressions += tree.xpath(xpath, namespaces=NS)
    names = set()
    for expr in expressions:
        for node in ast.walk(ast.parse(expr.strip())):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
    return names


# --------------------------------------------------------------------------------- structure
def test_every_expected_form_exists() -> None:
    assert set(form_names()) >= EXPECTED_FORMS
    assert set(VALID) == EXPECTED_FORMS


@pytest.mark.parametrize("form", form_names())
def test_form_is_a_valid_draft_2020_12_object_schema(form: str) -> None:
    schema = load(form)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert has_japanese(schema.get("title"))
    assert has_japanese(schema.get("description"))


@pytest.mark.parametrize("form", form_names())
def test_every_field_has_a_japanese_title(form: str) -> None:
    untitled = [path for path, prop in fields(load(form)) if not has_japanese(prop.get("title"))]
    assert untitled == []


@pytest.mark.parametrize("form", form_names())
def test_every_object_refuses_unknown_fields(form: str) -> None:
    open_objects = [
        path
        for path, obj in object_schemas(load(form))
        if obj.get("additionalProperties") is not False
    ]
    assert open_objects == []


@pytest.mark.parametrize("form", form_names())
def test_every_free_string_has_a_max_length(form: str) -> None:
    def unbounded(prop: dict[str, Any]) -> bool:
        return (
            prop.get("type") == "string"
            and choices(prop) is None
            and "const" not in prop
            and "maxLength" not in prop
        )

    found = [path for path, prop in fields(load(form)) if unbounded(prop)]
    found += [
        path + ".*"
        for path, prop in fields(load(form))
        if isinstance(prop.get("items"), dict) and unbounded(prop["items"])
    ]
    assert found == []


@pytest.mark.parametrize("form", form_names())
def test_choices_follow_the_convention(form: str) -> None:
    for path, prop in fields(load(form)):
        if "oneOf" in prop:  # single choice
            assert prop["type"] == "string", path
            assert all(set(o) == {"const", "title"} for o in prop["oneOf"]), path
            assert all(has_japanese(o["title"]) for o in prop["oneOf"]), path
            assert prop.get("x-errorMessage") == CHOICE_MSG, path
        if prop.get("type") == "array" and "enum" in prop.get("items", {}):  # multiple choice
            assert prop.get("uniqueItems") is True, path
            titles = prop.get("x-enumTitles")
            assert isinstance(titles, list) and len(titles) == len(prop["items"]["enum"]), path
            assert all(has_japanese(t) for t in titles), path
        assert "enum" not in prop, f"{path}: single choices use oneOf/const/title"


@pytest.mark.parametrize("form", form_names())
def test_sensitivity_markers(form: str) -> None:
    schema = load(form)
    for name, prop in schema["properties"].items():
        assert prop.get("x-sensitivity") in SENSITIVITY, name
    for path, prop in fields(schema):
        if "x-sensitivity" in prop:
            assert prop["x-sensitivity"] in SENSITIVITY, path


def test_sensitive_fields_named_in_the_brief_are_marked() -> None:
    assert load("intake")["properties"]["person"]["properties"]["address"]["x-sensitivity"] == "X"
    assert load("support_council")["properties"]["shared_summary"]["x-sensitivity"] == "X"
    assert load("outreach_visit")["properties"]["notes"]["x-sensitivity"] == "R"
    assert load("outreach_followup")["properties"]["notes"]["x-sensitivity"] == "R"
    assert load("assessment")["properties"]["risk"]["x-sensitivity"] == "R"


@pytest.mark.parametrize("form", form_names())
def test_dates_use_format_date_and_x_after_names_a_sibling_date(form: str) -> None:
    schema = load(form)
    for path, prop in fields(schema):
        if "x-after" in prop:
            assert prop.get("format") == "date", path
            parent = schema
            for part in path.split(".")[:-1]:
                parent = parent["items"] if part == "*" else parent["properties"][part]
            other = parent["properties"].get(prop["x-after"])
            assert other is not None and other.get("format") == "date", path


def test_plan_end_and_other_date_pairs_carry_x_after() -> None:
    plan = load("support_plan")["properties"]
    assert plan["plan_end"]["x-after"] == "plan_start"
    assert plan["review_date"]["x-after"] == "plan_start"
    assert load("monitoring")["properties"]["next_review_date"]["x-after"] == "monitored_on"
    assert load("evaluation")["properties"]["next_review_date"]["x-after"] == "evaluated_on"
    assert load("resumption")["properties"]["next_review_date"]["x-after"] == "resumed_on"


def test_concern_categories_are_the_sixteen_of_the_intake_sheet() -> None:
    for form, name in [
        ("intake", "concerns"),
        ("first_assessment", "concerns"),
        ("assessment", "issue_domains"),
    ]:
        prop = load(form)["properties"][name]
        assert prop["items"]["enum"] == CONCERN_CODES
        assert prop["x-enumTitles"] == CONCERN_TITLES
    for form in ("intake", "first_assessment"):
        pressing = load(form)["properties"]["most_pressing"]["oneOf"]
        assert [o["const"] for o in pressing] == CONCERN_CODES
        assert [o["title"] for o in pressing] == CONCERN_TITLES


def test_council_revisit_labels() -> None:
    options = load("support_council")["properties"]["revisit_after"]["oneOf"]
    assert {o["const"]: o["title"] for o in options} == {
        "P7D": "1週間後",
        "P14D": "2週間後",
        "P30D": "1か月後",
    }


# ---------------------------------------------------------------------------- BPMN contract
def test_every_bpmn_user_task_has_an_existing_valid_form() -> None:
    tasks = user_tasks()
    assert len(tasks) >= 19
    for file_name, task_id, form_file in tasks:
        assert form_file, f"{file_name}#{task_id} has no formJsonSchemaFilename"
        path = FORMS / form_file
        assert path.is_file(), f"{file_name}#{task_id}: {form_file} is missing"
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_every_form_is_used_by_a_user_task_or_a_start_event() -> None:
    elements = user_tasks("//bpmn:userTask|//bpmn:startEvent")
    used = {form_file.removesuffix(".schema.json") for _, _, form_file in elements if form_file}
    assert EXPECTED_FORMS - used <= {"intake"}


@pytest.mark.parametrize("form", sorted(CONTRACT))
def test_gateway_variables_offer_exactly_the_agreed_values(form: str) -> None:
    props = load(form)["properties"]
    for var, values in CONTRACT[form].items():
        assert var in props, var
        assert choices(props[var]) == values, var


@pytest.mark.parametrize("form", sorted(REQUIRED))
def test_required_fields(form: str) -> None:
    assert set(load(form)["required"]) == REQUIRED[form]


def test_each_gateway_comparison_matches_a_choice_of_the_preceding_form() -> None:
    comparisons = gateway_comparisons()
    assert {gateway for gateway, *_ in comparisons} >= {
        "route",
        "window_continue",
        "referral_accepted",
        "council_course",
        "visit_result",
        "coordination_accepted",
        "conference_outcome",
        "monitoring_outcome",
        "evaluation_decision",
        "resume_to",
        "matched",
        "retained",
        "linked",
    }
    for gateway, form, var, value in comparisons:
        prop = load(form)["properties"].get(var)
        assert prop is not None, f"{gateway}: {form} has no field {var}"
        assert value in (choices(prop) or set()), f"{gateway}: {var} == {value!r} is not offered"


def test_every_variable_the_bpmn_reads_is_set_by_some_form_or_setting() -> None:
    from app.services.settings import DEFINITIONS

    from_forms = {name for form in form_names() for name in load(form)["properties"]}
    known = from_forms | CASE_START_DATA | set(DEFINITIONS) | set(dir(builtins))
    assert variables_read_by_bpmn() - known == set()


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("form", sorted(VALID))
def test_realistic_example_passes(form: str) -> None:
    assert errors_for(load(form), VALID[form]) == {}


@pytest.mark.parametrize(
    ("form", "data"), ALSO_VALID, ids=[f"{form}-{i}" for i, (form, _) in enumerate(ALSO_VALID)]
)
def test_conditional_fields_are_only_required_when_their_condition_holds(
    form: str, data: dict[str, Any]
) -> None:
    assert errors_for(load(form), data) == {}


@pytest.mark.parametrize(
    ("form", "var"), [(form, var) for form in sorted(CONTRACT) for var in sorted(CONTRACT[form])]
)
def test_unknown_choice_is_refused(form: str, var: str) -> None:
    errors = errors_for(load(form), changed(form, {var: "something_else"}))
    assert errors.get(var) == CHOICE_MSG


@pytest.mark.parametrize(
    ("form", "field"),
    [(form, field) for form in sorted(REQUIRED) for field in sorted(REQUIRED[form])],
)
def test_missing_required_field_is_reported_at_that_field(form: str, field: str) -> None:
    errors = errors_for(load(form), changed(form, {field: DROP}))
    assert errors.get(field) == REQUIRED_MSG


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (form, path)
        for form in sorted(VALID)
        for path, prop in fields(load(form))
        if prop.get("format") == "date"
        and "*" not in path
        and "." not in path
        and path in VALID[form]
    ],
)
@pytest.mark.parametrize("bad", ["2025/04/01", "2025-02-30", "令和7年4月1日", "2025-4-1"])
def test_malformed_date_is_refused(form: str, field: str, bad: str) -> None:
    assert errors_for(load(form), changed(form, {field: bad})) == {field: DATE_MSG}


@pytest.mark.parametrize(
    ("form", "changes", "field", "message"),
    INVALID,
    ids=[f"{form}-{field}-{i}" for i, (form, _, field, _) in enumerate(INVALID)],
)
def test_invalid_input_is_reported_at_the_field(
    form: str, changes: dict[str, Any], field: str, message: str | None
) -> None:
    errors = errors_for(load(form), changed(form, changes))
    assert field in errors, errors
    if message is not None:
        assert errors[field] == message


def test_every_missing_required_field_gets_its_own_message() -> None:
    errors = errors_for(load("support_plan"), {})
    assert set(errors) >= REQUIRED["support_plan"]
