"""Parse archdef text into unresolved declarations (one ArchDecl per `arch`).

Place in the flow: first stage.  Bytes are decoded and screened (binary,
non-UTF-8, nesting depth, size), Lark parses with dsl/grammar.lark (LALR,
positions propagated), and a typed Lark Transformer (`_Build`, one method
per grammar rule, bottom-up and non-recursive) turns each `arch` subtree
into an ArchDecl record (dsl/decls.py) whose every element carries its Loc.
The cached reading of a file (``parse_file``, re-exported) is dsl/decls.py's:
it calls ``parse_text`` here only when the ptdl cache cannot answer.  Nothing here knows the vocabulary: that is
dsl/resolve.py's and dsl/check.py's job.  Bad input yields Diagnostics,
never an exception.

(Over 500 lines on purpose: Lark's Transformer wants one method per
grammar rule on one class, so the whole grammar's walker stays together.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Union

import lark
from lark import Token, Transformer_NonRecursive, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from .model import (AnyOf, BoolOp, Call, Choice, Cite, Compare, Derived, Each,
                    EffectStmt, Expr, Field, FlagOp, KConfig, KernelDiff, Kind,
                    Mutator, NameList, Not, Num, Primitive, ProtEntry, ProtItem, ProtWhen, Ref,
                    Setting, Stmt, Transform, When)
from . import catalog
# Re-exported: the declarations and the cached reading live in dsl/decls.py
# (no Lark there: a cache hit never imports it).
from .decls import MAX_FILE_BYTES as MAX_FILE_BYTES, ArchDecl as ArchDecl
from .decls import _code_fingerprint as _code_fingerprint, decode as decode
from .decls import parse_file as parse_file
from .source import Diagnostic, Loc

MAX_DEPTH = 64
# Syntax-tree depth allowed after parsing.  Braces and parentheses (at most
# MAX_DEPTH, checked on the text) add at most two tree levels each; chains
# of `not` and `else when` nest without brackets and are caught here, before
# the recursive walker (and later recursive passes) meet them.
MAX_TREE_DEPTH = 4 * MAX_DEPTH
MAX_INT_BITS = 128


_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
_PARSER: lark.Lark | None = None


def _parser() -> lark.Lark:
    global _PARSER
    if _PARSER is None:
        # cache=True: Lark keeps the built LALR tables in the temp directory,
        # keyed by a hash of the grammar, the options and its own version, so
        # an edited grammar never reuses stale tables; it saves ~85 % of the
        # parser construction on every later process.
        _PARSER = lark.Lark(_GRAMMAR, parser="lalr", propagate_positions=True,
                            maybe_placeholders=True, cache=True)
    return _PARSER


class _Bail(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.message)
        self.diag = diag


def _depth_check(path: str, text: str) -> Diagnostic | None:
    """Reject absurd nesting before Lark builds a tree we would recurse over."""
    depth = 0
    line, col = 1, 0
    in_comment = in_string = False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            in_comment = in_string = False
            continue
        if in_comment:
            continue
        if in_string:
            in_string = ch != '"'
            continue
        if ch == "#":
            in_comment = True
        elif ch == '"':
            in_string = True
        elif ch in "{(":
            depth += 1
            if depth > MAX_DEPTH:
                return Diagnostic(Loc(path, line, col),
                                  f"nesting deeper than {MAX_DEPTH} levels")
        elif ch in "})":
            depth = max(0, depth - 1)
    return None


def _tree_too_deep(path: str, tree: Tree[Token]) -> Diagnostic | None:
    """The first node nested deeper than MAX_TREE_DEPTH (iterative walk)."""
    todo: list[tuple[Tree[Token], int]] = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            loc = Loc(path, 1, 1) if getattr(meta, "empty", True) else \
                Loc(path, meta.line, meta.column)
            return Diagnostic(loc, "nested too deeply (chains of `not` or `else when`?); "
                              f"the syntax tree is limited to {MAX_TREE_DEPTH} levels")
        todo.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return None


def _expected(names: set[str]) -> str:
    pretty = {
        "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'",
        "NAME": "a name", "INT": "a number", "STRING": "a string",
        "COLON": "':'", "EQUAL": "'='", "COMMA": "','", "DOT": "'.'",
        "__ANON_0": "'..'", "$END": "end of file", "CMP": "'==' or '!='",
        "VBAR": "'|'", "AT": "'@'",
    }
    out = sorted({pretty.get(n, repr(n.lower()) if not n.startswith("__") else n)
                  for n in names})
    if len(out) > 8:
        out = out[:8] + ["..."]
    return ", ".join(out)


def parse_text(path: str, text: str) -> tuple[list[ArchDecl], list[Diagnostic]]:
    deep = _depth_check(path, text)
    if deep is not None:
        return [], [deep]
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedCharacters as e:
        pos = e.pos_in_stream if e.pos_in_stream is not None else -1
        ch = text[pos] if 0 <= pos < len(text) else "?"
        return [], [Diagnostic(Loc(path, e.line, e.column),
                               f"unexpected character {ch!r}")]
    except lark.exceptions.UnexpectedEOF as e:
        lines = text.splitlines() or [""]
        return [], [Diagnostic(Loc(path, max(1, len(lines)), len(lines[-1]) + 1),
                               f"unexpected end of file; expected {_expected(set(e.expected))}")]
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        what = "end of file" if tok.type == "$END" else repr(str(tok))
        line = tok.line if tok.line is not None else 1
        col = tok.column if tok.column is not None else 1
        if tok.type == "$END":
            lines = text.splitlines() or [""]
            line, col = max(1, len(lines)), len(lines[-1]) + 1
        return [], [Diagnostic(Loc(path, line, col),
                               f"unexpected {what}; expected {_expected(set(e.expected))}")]
    except lark.exceptions.LarkError as e:  # pragma: no cover - defensive
        return [], [Diagnostic(Loc(path, 1, 1), f"cannot parse: {e}")]
    deep = _tree_too_deep(path, tree)
    if deep is not None:
        return [], [deep]
    if not tree.children:
        return [], [Diagnostic(Loc(path, 1, 1), "no `arch` declaration in this file")]
    decls: list[ArchDecl] = []
    for node in tree.children:
        if not isinstance(node, Tree):   # pragma: no cover - `start: arch*`
            continue
        build = _Build(path, str(node.children[0]))
        try:
            decls.append(build.transform(node))
        except VisitError as e:
            if isinstance(e.orig_exc, _Bail):
                return decls, build.diags + [e.orig_exc.diag]
            raise
        except _Bail as b:      # from __default__ (not wrapped in VisitError)
            return decls, build.diags + [b.diag]
    return decls, []


# ---------------------------------------------------------------------------
# The typed transformer: one method per grammar rule, children already
# transformed (bottom-up), so each method's parameters say what it gets.
# Optional parts ([x]) arrive as None.  Items of an arch are returned as
# `Apply` functions that add themselves to the ArchDecl being built.

Apply = Callable[[ArchDecl], None]
_Node = Union[Tree[Token], Token]
_Arg = tuple[str | None, Token]           # (keyword or None, value token)
_Args = tuple[str | None, tuple[tuple[str, str], ...]]
_FieldValue = tuple[str, int | None]
_Role = tuple[str, int, bool]              # role, pfn offset, inverted
_Bits = tuple[int, int]


@v_args(inline=True)
class _Build(Transformer_NonRecursive[Token, ArchDecl]):
    """Syntax tree of one `arch` -> ArchDecl (origin: that arch's name)."""

    def __init__(self, path: str, origin: str) -> None:
        super().__init__()
        self.path = path
        self.origin = origin
        self.diags: list[Diagnostic] = []

    # -- helpers -----------------------------------------------------------
    def at(self, tok: Token) -> Loc:
        return Loc(self.path, tok.line or 1, tok.column or 1)

    def at_meta(self, meta: Meta) -> Loc:
        if getattr(meta, "empty", True):
            return Loc(self.path, 1, 1)
        return Loc(self.path, meta.line, meta.column)

    def int_(self, tok: Token) -> int:
        s = str(tok).replace("_", "")
        try:
            if s[:2].lower() == "0x":
                v = int(s[2:], 16)
            elif s[:2].lower() == "0b":
                v = int(s[2:], 2)
            else:
                if len(s) > 40:
                    raise _Bail(Diagnostic(self.at(tok), "number too large"))
                v = int(s, 10)
        except ValueError:
            raise _Bail(Diagnostic(self.at(tok), f"malformed number {str(tok)!r}"))
        if v.bit_length() > MAX_INT_BITS:
            raise _Bail(Diagnostic(self.at(tok),
                                   f"number too large (more than {MAX_INT_BITS} bits)"))
        return v

    def __default__(self, data: str, children: list[object], meta: Meta) -> object:
        """A grammar rule without a method here: say so (never build a
        half-understood ArchDecl).  Adding a rule = adding its method."""
        raise _Bail(Diagnostic(self.at_meta(meta),
                               f"internal: grammar rule '{data}' has no method in dsl/parse.py _Build"))

    # -- arch --------------------------------------------------------------
    def arch(self, name: Token, parent: Token | None, *items: Apply) -> ArchDecl:
        d = ArchDecl(str(name), self.at(name))
        if parent is not None:
            d.parent, d.parent_loc = str(parent), self.at(parent)
        for apply in items:
            apply(d)
        return d

    def extends(self, parent: Token) -> Token:
        return parent

    def setting(self, key: Token, value: Token) -> Apply:
        s = Setting(self.int_(value), self.at(key), self.origin)
        return lambda d: d.settings.append((str(key), s))

    def pte_block(self, *items: Apply) -> Apply:
        def apply(d: ArchDecl) -> None:
            for it in items:
                it(d)
        return apply

    def prot_block(self, *items: ProtItem | ProtEntry | ProtWhen) -> Apply:
        def apply(d: ArchDecl) -> None:
            for it in items:
                if isinstance(it, ProtEntry):
                    d.prot_entries.append(it)
                elif isinstance(it, ProtWhen):
                    d.prot_when.append(it)
                else:
                    d.prot.append(it)
        return apply

    @v_args(inline=True, meta=True)
    def prot_when(self, meta: Meta, cond: Expr, *items: ProtItem | ProtEntry) -> ProtWhen:
        """`when COND { ... }`: protections that depend on a CPU feature."""
        return ProtWhen(cond, tuple(i for i in items if isinstance(i, ProtItem)),
                        tuple(i for i in items if isinstance(i, ProtEntry)),
                        self.at_meta(meta), self.origin)

    @v_args(inline=True, meta=True)
    def prot_entry(self, meta: Meta, combo: tuple[Token, ...], *values: _FieldValue) -> ProtEntry:
        """`entry shared|exec = f | g`: one of the 16 combinations written out."""
        names = tuple(str(t) for t in combo)
        flags = 0
        for n in names:
            flags |= catalog.VM_FLAGS.get(n, 0)
        return ProtEntry(names, flags, values, self.at_meta(meta), self.origin,
                         tuple(self.at(t) for t in combo))

    def vm_combo(self, *names: Token) -> tuple[Token, ...]:
        return names

    def prot_item(self, key: Token, *values: _FieldValue) -> ProtItem:
        return ProtItem(str(key), values, self.at(key), self.origin)

    def field_value(self, name: Token, value: Token | None) -> _FieldValue:
        return (str(name), self.int_(value) if value is not None else None)

    def cache_block(self, *items: tuple[str, Choice]) -> Apply:
        return lambda d: d.cache.extend(items)

    def cache_item(self, key: Token, choice: Choice) -> tuple[str, Choice]:
        return (str(key), choice)

    def cache_key(self, key: Token) -> Token:
        return key

    def cite_key(self, key: Token) -> Token:
        return key

    def flag_op(self, op: Token) -> Token:
        return op

    @v_args(inline=True, meta=True)
    def choice(self, meta: Meta, kind: Kind, cond: Expr | None, rest: Choice | None) -> Choice:
        options: tuple[tuple[Expr | None, Kind], ...] = ((cond, kind),)
        if rest is not None:
            options += rest.options
        return Choice(options, self.at_meta(meta), self.origin)

    def kind(self, name: Token, args: _Args | None) -> Kind:
        pos, params = args if args is not None else (None, ())
        if pos is not None:
            params = (("", pos),) + params
        return Kind(str(name), params, self.at(name))

    def args(self, *items: _Arg | None) -> _Args:
        pos: str | None = None
        params: list[tuple[str, str]] = []
        for item in items:
            if item is None:
                continue
            key, tok = item
            value = str(self.int_(tok)) if tok.type == "INT" else str(tok)
            if key is None:
                if pos is not None:
                    raise _Bail(Diagnostic(self.at(tok), "only one positional argument is allowed"))
                pos = value
            else:
                params.append((key, value))
        return pos, tuple(params)

    def arg(self, first: Token, value: Token | None = None) -> _Arg:
        if value is None:
            return (None, first)
        return (str(first), value)

    def tlb_setting(self, kind: Kind) -> Apply:
        return lambda d: d.tlb.append(kind)

    def lazy_mmu_setting(self, kind: Kind) -> Apply:
        return lambda d: d.lazy_mmu.append(kind)

    def advance_setting(self, name: Token) -> Apply:
        return lambda d: d.advance.append((str(name), self.at(name)))

    def pg_arch_1_setting(self, use: Token, gran: Token | None) -> Apply:
        item = (str(use), str(gran) if gran is not None else None, self.at(use))
        return lambda d: d.pg_arch_1.append(item)

    def cpu_decl(self, *names: Token) -> Apply:
        return lambda d: d.cpu.extend((str(t), self.at(t)) for t in names)

    def cpu_drop(self, *names: Token) -> Apply:
        return lambda d: d.cpu_drops.extend((str(t), self.at(t)) for t in names)

    @v_args(inline=True, meta=True)
    def prefault_setting(self, meta: Meta, cond: Expr | None) -> Apply:
        item = (cond, self.at_meta(meta))
        return lambda d: d.prefault.append(item)

    def primitives_block(self, *prims: Primitive) -> Apply:
        return lambda d: d.primitives.extend(prims)

    def primitive_name(self, key: Token, value: Token) -> Primitive:
        return Primitive(str(key), str(value)[1:-1], self.at(key), self.origin)

    def call_def(self, name: Token, body: tuple[Stmt, ...] | None) -> Apply:
        call = (Call(str(name), True, (), self.at(name), self.origin) if body is None
                else Call(str(name), False, body, self.at(name), self.origin))
        return lambda d: d.calls.append(call)

    def generic(self) -> None:
        return None

    @v_args(inline=True, meta=True)
    def empty_setting(self, meta: Meta, *values: _FieldValue) -> Apply:
        item = ProtItem("empty_pte", values, self.at_meta(meta), self.origin)
        return lambda d: d.empty.append(item)

    @v_args(inline=True, meta=True)
    def sw_mkyoung_setting(self, meta: Meta) -> Apply:
        loc = self.at_meta(meta)
        return lambda d: d.sw_mkyoung.append(loc)

    @v_args(inline=True, meta=True)
    def highmem_setting(self, meta: Meta, kmap: Token | None = None) -> Apply:
        loc = self.at_meta(meta)
        kind = str(kmap) if kmap is not None else "slot"
        return lambda d: d.highmem.append((kind, loc))

    @v_args(inline=True, meta=True)
    def config_setting(self, meta: Meta, *strs: Token) -> Apply:
        texts = [str(t)[1:-1] for t in strs]
        c = KConfig(texts[0], tuple(texts[1:]), self.at_meta(meta), self.origin)
        return lambda d: d.configs.append(c)

    @v_args(inline=True, meta=True)
    def kernel_diff(self, meta: Meta, ver: Token, fact: Token, commit: Token) -> Apply:
        k = KernelDiff(str(ver)[1:-1], str(fact)[1:-1], str(commit)[1:-1],
                       self.at_meta(meta), self.origin)
        return lambda d: d.kernel_diffs.append(k)

    @v_args(inline=True)
    def kernel_diff_drop(self, fact: Token) -> Apply:
        """`drop kernel_diff "FACT"`: the parent's declared difference does not hold here."""
        item = (str(fact)[1:-1], self.at(fact))
        return lambda d: d.kernel_diff_drops.append(item)

    def cite(self, key: Token, text: Token) -> Apply:
        c = Cite(str(key), str(text)[1:-1], self.at(key), self.origin)
        return lambda d: d.cites.append(c)

    # -- the pte block -----------------------------------------------------
    def field(self, name: Token, bits: _Bits, role: _Role | None,
              overlaps: tuple[str, ...] | None, kmacro: str | None) -> Apply:
        lo, hi = bits
        rname, offset, inverted = role if role is not None else (None, 0, False)
        f = Field(str(name), lo, hi, rname, inverted, offset, overlaps or (),
                  self.at(name), self.origin, kmacro)
        return lambda d: d.fields.append(f)

    def bits(self, lo: Token, hi: Token | None) -> _Bits:
        low = self.int_(lo)
        return (low, self.int_(hi) if hi is not None else low)

    def role(self, name: Token, offset: Token | None, inverted: Token | None) -> _Role:
        return (str(name), self.int_(offset) if offset is not None else 0, inverted is not None)

    def kmacro(self, t: Token) -> str:
        """`= MACRO` or `= "C expression"`: the kernel's mask for the field."""
        return str(t)[1:-1] if t.type == "STRING" else str(t)

    def overlaps(self, *names: Token) -> tuple[str, ...]:
        return tuple(str(t) for t in names)

    def derived(self, name: Token, expr: Expr) -> Apply:
        x = Derived(str(name), expr, self.at(name), self.origin)
        return lambda d: d.derived.append(x)

    def mutator(self, name: Token, *body: Stmt) -> Apply:
        m = Mutator(str(name), body, self.at(name), self.origin)
        return lambda d: d.mutators.append(m)

    @v_args(inline=True, meta=True)
    def transform_item(self, meta: Meta, target: Token, cond: Expr) -> Apply:
        t = Transform(str(target), cond, self.at_meta(meta), self.origin)
        return lambda d: d.transforms.append(t)

    @v_args(inline=True, meta=True)
    def napot_item(self, meta: Meta, cond: Expr) -> Apply:
        t = Transform("pfn", cond, self.at_meta(meta), self.origin, "napot")
        return lambda d: d.transforms.append(t)

    @v_args(inline=True, meta=True)
    def pfn_none(self, meta: Meta, cond: Expr) -> Apply:
        """`pfn_none when EXPR`: pte_pfn() is ~0UL for such entries."""
        t = Transform("pfn_none", cond, self.at_meta(meta), self.origin)
        return lambda d: d.pfn_nones.append(t)

    def drop(self, name: Token) -> Apply:
        return lambda d: d.drops.append((str(name), self.at(name)))

    @v_args(inline=True, meta=True)
    def none_ignores(self, meta: Meta, *names: Token) -> Apply:
        """`none_ignores a, d`: fields pte_none() ignores."""
        nl = NameList(tuple(str(t) for t in names), self.at_meta(meta), self.origin,
                      tuple(self.at(t) for t in names))
        return lambda d: d.none_ignores.append(nl)

    @v_args(inline=True, meta=True)
    def pfn_pte_applies(self, meta: Meta, *names: Token) -> Apply:
        """`pfn_pte { mkyoung }`: mutators pfn_pte() applies to its entry."""
        nl = NameList(tuple(str(t) for t in names), self.at_meta(meta), self.origin,
                      tuple(self.at(t) for t in names))
        return lambda d: d.pfn_pte_applies.append(nl)

    # -- statements --------------------------------------------------------
    def block(self, *stmts: Stmt) -> tuple[Stmt, ...]:
        return stmts

    @v_args(inline=True, meta=True)
    def when_stmt(self, meta: Meta, cond: Expr, then: tuple[Stmt, ...],
                  orelse: tuple[Stmt, ...] | When | None) -> When:
        els: tuple[Stmt, ...] = () if orelse is None else \
            (orelse,) if isinstance(orelse, When) else orelse
        return When(cond, then, els, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def each_stmt(self, meta: Meta, kind: Token, src: Token | None, rev: Token | None,
                  body: tuple[Stmt, ...]) -> Each:
        return Each(str(kind), str(src) if src is not None else "range", rev is not None,
                    body, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def flag_stmt(self, meta: Meta, op: Token, target: Expr, value: Token | None) -> FlagOp:
        if not isinstance(target, Ref):   # pragma: no cover - the grammar says `ref`
            raise _Bail(Diagnostic(self.at_meta(meta), "internal: flag target is not a name"))
        return FlagOp(str(op), target, self.int_(value) if value is not None else None,
                      self.at_meta(meta))

    def effect_stmt(self, name: Token, args: _Args | None,
                    body: tuple[Stmt, ...] | None) -> EffectStmt:
        pos, params = args if args is not None else (None, ())
        return EffectStmt(str(name), pos, params, self.at(name), body or ())

    # -- expressions -------------------------------------------------------
    @v_args(inline=True, meta=True)
    def ref(self, meta: Meta, *names: Token) -> Ref:
        return Ref(tuple(str(t) for t in names), self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def number(self, meta: Meta, tok: Token) -> Num:
        return Num(self.int_(tok), self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def not_expr(self, meta: Meta, arg: Expr) -> Not:
        return Not(arg, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def or_expr(self, meta: Meta, *args: Expr) -> BoolOp:
        return BoolOp("or", args, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def and_expr(self, meta: Meta, *args: Expr) -> BoolOp:
        return BoolOp("and", args, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def compare(self, meta: Meta, left: Expr, op: Token, right: Expr) -> Compare:
        return Compare(str(op), left, right, self.at_meta(meta))

    @v_args(inline=True, meta=True)
    def any_expr(self, meta: Meta, arg: Expr) -> AnyOf:
        return AnyOf(arg, self.at_meta(meta))
