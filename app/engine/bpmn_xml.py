"""Reads a file as BPMN 2.0 XML: honours its declared encoding, refuses what is not BPMN, and
explains schema (XSD) violations in short Japanese, on the element they concern.

Diagrams come from many tools: Latin-1 and Shift_JIS files declare their encoding, UTF-16
files start with a byte-order mark, and bpmn-js writes correlation properties in a form the
XSD does not allow (SpiffWorkflow's own validator rewrites it first; so does Kasane).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from app.engine import namespaces
from app.engine.refusal import DeployError, kind_ja, local_name, owner, refuse

_DECLARATION = re.compile(r"""\A(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_NCNAME = re.compile(r"\A[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*\Z")
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b")
_MODEL_NAMESPACES = frozenset((namespaces.BPMN, namespaces.BPMNDI, namespaces.DC, namespaces.DI))
_FIX = "モデラーで開いて保存し直すか、該当の記述を直してください"


def _parser() -> etree.XMLParser:
    # One parser per call (lxml parsers are not shared between threads); no entity expansion,
    # no network: a diagram is uploaded by a designer and must not read files on the server.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse(file_name: str, data: bytes) -> Any:
    """The root element of a BPMN document, or a DeployError saying why the file is not one."""
    if not data.strip():
        raise DeployError(
            file_name, None, "ファイルが空です。モデラーで保存した .bpmn ファイルを指定してください"
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise DeployError(file_name, None, _syntax_problem(exc, data)) from exc
    if root.tag != f"{{{namespaces.BPMN}}}definitions":
        raise DeployError(
            file_name,
            root.get("id"),
            f"BPMN 2.0 の図ではありません（最上位の要素が {etree.QName(root).localname} で、"
            "bpmn:definitions ではありません）。BPMN 2.0 の形式で保存したファイルを指定してください",
        )
    return root


def _syntax_problem(exc: etree.XMLSyntaxError, data: bytes) -> str:
    head = data[:16]
    if head.startswith(_BINARY_MAGIC) or (b"\x00" in data[:512] and not _looks_utf16(data)):
        return (
            "XMLのファイルではありません（画像や圧縮ファイルなど別の形式のようです）。"
            "モデラーで保存した .bpmn ファイルを指定してください"
        )
    text = str(exc.msg or "")
    if re.search(r"encoding|utf-?(8|16)|not proper", text, re.IGNORECASE):
        declared = re.search(rb"""encoding\s*=\s*["']([^"']+)""", data[:200])
        said = f"（宣言は {declared.group(1).decode('ascii', 'replace')}）" if declared else ""
        return (
            f"文字コードが宣言と合わないため読めません{said}（{exc.lineno}行目）。"
            "XML宣言の encoding を実際の文字コードに合わせるか、UTF-8 で保存し直してください"
        )
    return (
        f"XMLとして読めません（{exc.lineno}行目で構文が崩れています）。"
        "モデラーで保存した .bpmn ファイルを指定してください"
    )


def _looks_utf16(data: bytes) -> bool:
    return data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?")


def decode(data: bytes, root: Any) -> str:
    """The document as text, its XML declaration saying UTF-8 (it is stored and re-read as such)."""
    encoding = root.getroottree().docinfo.encoding or "UTF-8"
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        # An encoding libxml2 knows and Python does not: let lxml write the text.
        text = etree.tostring(root.getroottree(), encoding="unicode")
    return _DECLARATION.sub(r'\1"UTF-8"', text.lstrip("\ufeff"), count=1)


def check_ids(file_name: str, root: Any) -> None:
    """Every id is unique and usable as an XML id (the XSD only says "not a valid xs:ID")."""
    ids = Counter(
        node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")
    )
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != namespaces.BPMN:
            continue
        element_id = node.get("id")
        if element_id is None:
            continue
        if ids[element_id] > 1:
            raise DeployError(
                file_name,
                element_id,
                f"ID「{element_id}」が{ids[element_id]}つの要素で使われています。"
                "IDはファイルの中で一意にしてください（モデラーで片方のIDを変えてください）",
            )
        if not _NCNAME.match(element_id):
            raise DeployError(
                file_name,
                element_id,
                f"ID「{element_id}」はIDとして使えません。英字か _ で始まり、"
                "空白や記号（: / # など）を含まない名前にしてください",
            )


def check_schema(file_name: str, root: Any) -> None:
    """The document follows the BPMN 2.0 XSD (after the rewrite SpiffWorkflow applies for bpmn-js)."""
    copy = etree.fromstring(etree.tostring(root), parser=_parser())
    VALIDATOR.preprocess(copy)
    if VALIDATOR.validator.validate(copy):
        return
    error = VALIDATOR.validator.error_log.last_error
    node = _node_at(root, copy, error)
    problem = _schema_problem(error, node)
    raise refuse(file_name, owner(node) if node is not None else root, problem)


def _node_at(root: Any, copy: Any, error: Any) -> Any | None:
    """The element an XSD error is about, found in ``root`` (by path in the copy, else by line)."""
    found = None
    prefixes: dict[str, str] = {}
    for node in copy.iter():
        if isinstance(node.tag, str):
            prefixes.update({k: v for k, v in node.nsmap.items() if k})
    try:
        hits = copy.getroottree().xpath(error.path, namespaces=prefixes) if error.path else []
    except etree.XPathError:
        hits = []
    if len(hits) == 1 and isinstance(hits[0], etree._Element):
        # The copy has the same structure as the original: the same position in document order.
        position = next((i for i, n in enumerate(copy.iter()) if n is hits[0]), None)
        original = list(root.iter())
        if position is not None and position < len(original):
            found = original[position]
    if found is None:
        on_line = [n for n in root.iter() if isinstance(n.tag, str) and n.sourceline == error.line]
        found = on_line[-1] if on_line else None
    return found


def _schema_problem(error: Any, node: Any | None) -> str:
    message = error.message or ""
    kind = kind_ja(node) if node is not None else "要素"
    attribute = re.search(r"attribute '([^']+)'", message)
    attribute_name = attribute.group(1) if attribute else ""
    where = f"（{error.line}行目）"
    if error.type_name.startswith("SCHEMAV_CVC_COMPLEX_TYPE_3_2"):
        return (
            f"{kind}に属性 {attribute_name} は書けません{where}。BPMN 2.0 の規格にない属性です。"
            "削除するか、独自の設定は拡張属性（名前空間付き）にしてください"
        )
    if error.type_name == "SCHEMAV_CVC_COMPLEX_TYPE_4":
        return f"{kind}に必須の属性 {attribute_name} がありません{where}。{_FIX}"
    if error.type_name == "SCHEMAV_ELEMENT_CONTENT":
        if "Missing child element" in message:
            return f"{kind}に必要な子要素がありません{where}。{_FIX}"
        tag = local_name(node) if node is not None else "?"
        return (
            f"要素 {tag} はこの位置に置けません{where}。BPMN 2.0 の規格にない要素か、順序が違います。"
            "独自の設定は extensionElements の中に入れてください"
        )
    value = re.search(
        r"'([^']*)' is not a valid value of the (?:atomic|local|union) type '([^']+)'", message
    )
    if value:
        expected = {"xs:boolean": "true か false", "xs:ID": "英字か _ で始まるID"}.get(
            value.group(2), "規格どおりの値"
        )
        return (
            f"属性 {attribute_name or '?'} の値「{value.group(1)}」は使えません{where}。"
            f"{expected}にしてください"
        )
    return f"BPMN 2.0 の規格（XSD）に合わない書き方があります{where}。{_FIX}"


def processes(xml: str) -> list[tuple[str, str | None]]:
    """(id, name) of every process in a document (none when it is not XML)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError:
        return []
    return [
        (str(node.get("id") or ""), node.get("name"))
        for node in root.iter(f"{{{namespaces.BPMN}}}process")
    ]


def element_names(xml: str, process_key: str) -> dict[str, str]:
    """Every named element of one process in a document, by id (what a designer calls it)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError:
        return {}
    names: dict[str, str] = {}
    for process in root.iter(f"{{{namespaces.BPMN}}}process"):
        if process.get("id") != process_key:
            continue
        for node in process.iter():
            if isinstance(node.tag, str) and node.get("id") and node.get("name"):
                names[str(node.get("id"))] = str(node.get("name"))
    return names


def boundary_events(xml: str, process_key: str) -> set[str]:
    """The ids of one process's boundary events: armed while their task waits, never a place of
    their own where a case waits."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError:
        return set()
    return {
        str(node.get("id"))
        for process in root.iter(f"{{{namespaces.BPMN}}}process")
        if process.get("id") == process_key
        for node in process.iter(f"{{{namespaces.BPMN}}}boundaryEvent")
        if node.get("id")
    }


def user_tasks(xml: str, process_key: str) -> list[tuple[str, str, str | None]]:
    """(id, name, dueInDays) of every user task of one process in a document, in document order."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError:
        return []
    found: list[tuple[str, str, str | None]] = []
    for process in root.iter(f"{{{namespaces.BPMN}}}process"):
        if process.get("id") != process_key:
            continue
        for task in process.iter(f"{{{namespaces.BPMN}}}userTask"):
            due = task.xpath(
                "string(bpmn:extensionElements/spiffworkflow:properties"
                "/spiffworkflow:property[@name='dueInDays']/@value)",
                namespaces=namespaces.PREFIXES,
            )
            found.append(
                (str(task.get("id")), str(task.get("name") or task.get("id")), due or None)
            )
    return found
