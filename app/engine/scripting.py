"""Restricted Python for BPMN gateway conditions, script tasks and timer expressions.

BPMN files are uploaded by designers, so their code runs under RestrictedPython with an
allow-list of builtins, no imports, no ``_`` names or attributes, and a per-call time limit,
in a sandbox process whose CPU time and memory the OS limits (app.engine.sandbox). An
expression that only compares names and constants (most gateway conditions) cannot run long or
take memory, and runs in this process (``_bounded``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import operator
import re
import sys
import time
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import CodeType, FrameType, GeneratorType, ModuleType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from RestrictedPython import Guards, RestrictingNodeTransformer
from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.config import ScriptLimits, read_script_limits
from app.engine import sandbox

Data = dict[str, Any]
# The tracer recognises restricted frames by this name, so library frames stay untraced.
SCRIPT_FILENAME = "<kasane-script>"
TOKYO = ZoneInfo("Asia/Tokyo")
# A single C-level operation cannot be interrupted by the tracer, so result sizes are capped
# (and three-argument pow, a long modular exponentiation in C, is not offered at all).
MAX_ITEMS = 1_000_000
MAX_INT_BITS = 65_536

_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float",
    "frozenset", "int", "isinstance", "len", "list", "map", "max", "min", "next", "ord",
    "repr", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip",
    "ArithmeticError", "Exception", "IndexError", "KeyError", "LookupError", "RuntimeError",
    "TypeError", "ValueError", "ZeroDivisionError",
)  # fmt: skip
# Absent from the builtins anyway; refusing the calls at compile time gives an early error
# without reserving the names (task data may well have a field called "type" or "open").
_UNSAFE_CALLS = frozenset((
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "getattr", "setattr",
    "delattr", "hasattr", "type", "object", "super", "input", "memoryview", "classmethod",
    "staticmethod", "property", "help", "exit", "quit",
))  # fmt: skip
_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
}  # fmt: skip
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}  # fmt: skip


class ScriptError(Exception):
    """Any refusal or failure of restricted code; ``message_ja`` is what users are shown."""

    def __init__(self, reason: str, message_ja: str, line: int | None = None) -> None:
        super().__init__(reason)  # SpiffWorkflow concatenates args[0], so it must be a str
        self.reason = reason
        self.message_ja = message_ja
        self.line = line


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened where its Zope-oriented defaults are too lax."""

    def _refuse(self, node: ast.AST, what: str) -> ast.AST:
        self.error(node, f'"{what}" is not allowed.')
        return node

    # RestrictedPython accepts import statements and relies on a guarded __import__.
    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self._refuse(node, "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self._refuse(node, "import")

    # A handler could swallow the time-limit exception, and a raising tracer is uninstalled.
    def visit_Try(self, node: ast.Try) -> ast.AST:
        return self._refuse(node, "try")

    # So could a context manager's __exit__.
    def visit_With(self, node: ast.With) -> ast.AST:
        return self._refuse(node, "with")

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._refuse(node, "class")

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in _UNSAFE_CALLS:
            self._refuse(node, node.func.id)
        return super().visit_Call(node)

    # RestrictedPython has no hook for operators; `"a" * 10**10` would run in C, untraced.
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        guard = _GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(ast.Name(guard, ast.Load()), [node.left, node.right], [])
        return ast.fix_missing_locations(ast.copy_location(call, node))


def _check_size(op: str, left: Any, right: Any) -> None:
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            sized = isinstance(seq, str | bytes | list | tuple) and isinstance(n, int)
            if sized and len(seq) * n > MAX_ITEMS:
                raise _too_large(op)
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    if (
        (op == "*" and left.bit_length() + right.bit_length() > MAX_INT_BITS)
        or (op == "**" and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS)
        or (op == "<<" and left != 0 and left.bit_length() + right > MAX_INT_BITS)
    ):
        raise _too_large(op)


def _too_large(op: str) -> ScriptError:
    return ScriptError(f"result of {op} too large", "スクリプトの計算結果が大きすぎます")


def _guarded(op: str, apply: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def guarded(left: Any, right: Any) -> Any:
        _check_size(op, left, right)
        return apply(left, right)

    return guarded


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    _check_size(op[:-1], target, value)
    return _INPLACE_OPS[op](target, value)


def _range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_ITEMS:  # sum(range(10**12)) would run in C, untraced
        raise _too_large("range")
    return result


def _import(name: str, *args: Any, **kwargs: Any) -> ModuleType:
    # C code imports through the calling frame's builtins: datetime.strftime needs "time",
    # datetime.strptime "_strptime". Restricted code itself can neither name this nor import.
    if name not in ("time", "_strptime"):
        raise ImportError(f"import of {name} is not allowed")
    return builtins.__import__(name, *args, **kwargs)


class _DiscardedPrint:
    """Keeps ``print`` harmless: the output goes nowhere rather than to the server's stdout."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def _call_print(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self) -> str:
        return ""


def today() -> date:
    """Today's date in Japan, whatever the server's time zone."""
    return datetime.now(TOKYO).date()


HELPERS: dict[str, Any] = {
    "datetime": datetime, "date": date, "timedelta": timedelta, "today": today,
    "Decimal": Decimal,
}  # fmt: skip
# Helpers live among the builtins so task data may shadow them and they never leak into it.
_BUILTINS: dict[str, Any] = {
    **{name: getattr(builtins, name) for name in _BUILTIN_NAMES},
    "range": _range, **HELPERS,
    "_getattr_": Guards.safer_getattr_raise,  # safer_getattr turns a missing attribute into None
    "_getitem_": operator.getitem, "_getiter_": iter, "_write_": Guards.full_write_guard,
    "_inplacevar_": _inplacevar, "_iter_unpack_sequence_": Guards.guarded_iter_unpack_sequence,
    "_unpack_sequence_": Guards.guarded_unpack_sequence, "_print_": _DiscardedPrint,
    "__import__": _import,
    "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_mul_": _guarded("*", operator.mul), "_pow_": _guarded("**", operator.pow),
    "_lshift_": _guarded("<<", operator.lshift),
}  # fmt: skip


def _compile_error(errors: tuple[str, ...]) -> ScriptError:
    first = errors[0]
    where = re.match(r"Line (\d+): ", first)
    line = int(where.group(1)) if where else None
    if re.match(r"Line \S+: (SyntaxError|IndentationError|TabError): ", first):
        message_ja = "スクリプトの構文に誤りがあります" + (f"（{line}行目）" if line else "")
    else:
        quoted = re.search(r'"([^"]+)"', first)
        label = quoted.group(1) if quoted else re.sub(r"^Line \S+: ", "", first)
        message_ja = f"スクリプトで許可されていない操作です: {label}"
    return ScriptError("; ".join(errors), message_ja, line)


# Gateways evaluate the same few conditions over and over; compiling is the costly part.
@functools.lru_cache(maxsize=1024)
def _compile(source: str, mode: Literal["eval", "exec"]) -> CodeType:
    try:
        if mode == "eval":
            # eval() skips the leading whitespace BPMN XML text carries; ast.parse does not.
            result = compile_restricted_eval(source.strip(), SCRIPT_FILENAME, policy=_Policy)
        else:
            result = compile_restricted_exec(source, SCRIPT_FILENAME, policy=_Policy)
    except (RecursionError, MemoryError) as exc:  # deeply nested source exhausts the parser
        raise ScriptError("source too deeply nested", "スクリプトが複雑すぎます") from exc
    if result.errors or result.code is None:
        raise _compile_error(tuple(result.errors) or ("Line 1: empty source",))
    return result.code


# What an expression may be made of to run in this process: names, constants and comparisons
# joined by and/or/not. Nothing in it calls, loops or builds anything larger than the source,
# so its time is bounded by the data it compares and it allocates nothing (most gateway
# conditions: ``decision == "window"``); anything else runs in the sandbox.
_BOUNDED_NODES = (
    ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load,
    ast.And, ast.Or, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
    ast.NotIn, ast.Is, ast.IsNot, ast.Tuple, ast.List, ast.Set,
)  # fmt: skip
_IMMUTABLE = (bool, int, float, str, type(None), date, Decimal)


@functools.lru_cache(maxsize=1024)
def _bounded(source: str) -> bool:
    """Whether an (allowed) expression is one of ``_BOUNDED_NODES`` only."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(isinstance(node, _BOUNDED_NODES) for node in ast.walk(tree))


def check_expression(source: str) -> None:
    """Raise ScriptError if ``source`` is not an allowed expression; nothing is run."""
    _compile(source, "eval")


def check_script(source: str) -> None:
    """Raise ScriptError if ``source`` is not an allowed script; nothing is run."""
    _compile(source, "exec")


def _runtime_error(exc: Exception) -> ScriptError:
    tb = traceback.extract_tb(exc.__traceback__)
    lines = [frame.lineno for frame in tb if frame.filename == SCRIPT_FILENAME]
    line = lines[-1] if lines else None
    where = f"（{line}行目）" if line else ""
    if isinstance(exc, NameError):
        message_ja = f"スクリプトで定義されていない名前が使われました{where}: {exc.name}"
    else:
        message_ja = f"スクリプトの実行中にエラーが発生しました{where}: {type(exc).__name__}: {exc}"
    return ScriptError(f"{type(exc).__name__}: {exc}", message_ja, line)


def _namespace(context: Data, external: Data) -> Data:
    # Restricted code cannot name "_" keys, and data must never shadow the guards.
    namespace = _visible(external)
    namespace.update(_visible(context))
    namespace["__builtins__"] = _BUILTINS
    return namespace


def _visible(data: Data) -> Data:
    return {k: v for k, v in data.items() if isinstance(k, str) and k[:1] != "_"}


def _run(code: CodeType, namespace: Data, limit: float) -> Any:
    deadline = time.monotonic() + limit

    def trace_opcode(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode" and time.monotonic() > deadline:
            raise _time_error(limit, frame.f_lineno)
        return trace_opcode

    def trace_call(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        # 'line' events miss `while True: pass`: CPython 3.11 compiles it to a jump onto
        # itself, which is never reported as a new line. Opcode events see every step.
        frame.f_trace_lines = False
        frame.f_trace_opcodes = True
        return trace_opcode

    previous = sys.gettrace()
    sys.settrace(trace_call)
    try:
        return eval(code, namespace)
    except ScriptError as exc:
        if exc.line is None:
            exc.line = _runtime_error(exc).line
        raise
    except Exception as exc:
        raise _runtime_error(exc) from exc
    finally:
        sys.settrace(previous)


def _time_error(limit: float, line: int | None = None) -> ScriptError:
    return ScriptError(
        f"time limit of {limit}s exceeded",
        f"スクリプトの実行時間が上限（{limit}秒）を超えました",
        line,
    )


def _evaluate(expression: str, context: Data, external: Data, limit: float) -> Any:
    return _run(_compile(expression, "eval"), _namespace(context, external), limit)


def _execute(script: str, context: Data, external: Data, limit: float) -> tuple[Data, list[str]]:
    """Run a script over the task data; what to set in it and which keys to remove."""
    code = _compile(script, "exec")
    namespace = _namespace(context, external)
    visible = set(namespace)
    _run(code, namespace, limit)
    removed = list(visible - namespace.keys())
    updates = {}
    for key, value in namespace.items():
        if key.startswith("_"):
            continue
        if key in external or callable(value) or isinstance(value, ModuleType | GeneratorType):
            removed.append(key)
        else:
            updates[key] = value
    return updates, removed


def run_request(request: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a sandbox process does with one evaluation (see app.engine.sandbox): the value or the
    changes to the task data, or the ScriptError as plain values."""
    mode, source, context, external, limit = request
    try:
        if mode == "eval":
            return ("value", _evaluate(source, context, external, limit))
        return ("changes", *_execute(source, context, external, limit))
    except ScriptError as exc:
        if isinstance(exc.__cause__, MemoryError):
            raise exc.__cause__ from None  # the sandbox reports it, then replaces its process
        return ("error", exc.reason, exc.message_ja, exc.line, sandbox.describe(exc.__cause__))


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment's semantics with restricted code run on a copy of the task data, in a
    sandbox process under OS limits on CPU time and memory (``sandboxed=False``: in this very
    process, where only the guards and the tracer's wall-clock limit hold; for comparison)."""

    def __init__(
        self, time_limit: float | None = None, memory_mb: int | None = None, sandboxed: bool = True
    ) -> None:
        limits = read_script_limits()
        time_limit = limits.cpu_seconds if time_limit is None else time_limit
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        super().__init__(dict(HELPERS))
        self.time_limit = float(time_limit)
        self.memory_mb = limits.memory_mb if memory_mb is None else memory_mb
        self.sandboxed = sandboxed

    def evaluate(self, expression: str, context: Data, external_context: Data | None = None) -> Any:
        external = external_context or {}
        # Refusals come early and precisely, without a round trip.
        code = _compile(expression, "eval")
        if not self.sandboxed or _bounded(expression):
            value = _run(code, _namespace(context, external), self.time_limit)
            # As from the sandbox: a copy, never the task data's own list or dict.
            return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
        return self._sandboxed("eval", expression, context, external)[0]

    def execute(self, script: str, context: Data, external_context: Data | None = None) -> bool:
        external = external_context or {}
        if self.sandboxed:
            _compile(script, "exec")
            updates, removed = self._sandboxed("exec", script, context, external)
        else:
            updates, removed = _execute(script, context, external, self.time_limit)
        # Only a script that succeeds changes the task data, deletions included.
        for key in removed:
            context.pop(key, None)
        context.update(updates)
        return True

    def _sandboxed(self, mode: str, source: str, context: Data, external: Data) -> list[Any]:
        request = (mode, source, _visible(context), _visible(external), self.time_limit)
        try:
            status, *values = sandbox.run(request, ScriptLimits(self.time_limit, self.memory_mb))
        except sandbox.LimitExceeded as exc:
            if exc.kind == "cpu":
                raise _time_error(self.time_limit) from None
            if exc.kind == "memory":
                raise ScriptError(
                    f"memory limit of {self.memory_mb} MB exceeded",
                    f"スクリプトが使うメモリが上限（{self.memory_mb}MB）を超えました",
                ) from None
            raise ScriptError(
                "sandbox process crashed", "スクリプトの実行が異常終了しました"
            ) from None
        except sandbox.NotPlainData as exc:
            raise ScriptError(
                f"result holds a {exc.type_name}",
                f"スクリプトの結果に保存できない値があります（{exc.type_name}）",
            ) from None
        if status != "error":
            return values
        reason, message_ja, line, cause = values
        raise ScriptError(reason, message_ja, line) from sandbox.remade(cause)


def make_script_engine(
    time_limit: float | None = None, memory_mb: int | None = None, sandboxed: bool = True
) -> PythonScriptEngine:
    """SpiffWorkflow's engine with every condition, script and timer expression restricted and,
    unless ``sandboxed`` is False, run in a sandbox process; limits default to the settings."""
    environment = RestrictedEnvironment(time_limit, memory_mb, sandboxed)
    return PythonScriptEngine(environment=environment)
