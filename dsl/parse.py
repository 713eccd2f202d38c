"""Parse archdef text into unresolved declarations (one ArchDecl per `arch`).

Place in the flow: first stage.  Bytes are decoded and screened (binary,
non-UTF-8, nesting depth, size), Lark parses with dsl/grammar.lark (LALR,
positions propagated), and the tree is walked into ArchDecl records whose
every element carries its Loc.  Nothing here knows the vocabulary: that is
dsl/resolve.py's and dsl/check.py's job.  Bad input yields Diagnostics,
never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import lark
from lark import Token, Tree

from .model import (AnyOf, BoolOp, Call, Choice, Cite, Compare, Derived, Each,
                    EffectStmt, Expr, Field, FlagOp, KConfig, KernelDiff, Kind,
                    Mutator, NameList, Not, Num, Primitive, ProtEntry, ProtItem, Ref, Setting, Stmt,
                    Transform, When)
from . import catalog
from .source import Diagnostic, Loc

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
# Syntax-tree depth allowed after parsing.  Braces and parentheses (at most
# MAX_DEPTH, checked on the text) add at most two tree levels each; chains
# of `not` and `else when` nest without brackets and are caught here, before
# the recursive walker (and later recursive passes) meet them.
MAX_TREE_DEPTH = 4 * MAX_DEPTH
MAX_INT_BITS = 128


@dataclass
class ArchDecl:
    """One `arch NAME [extends P] { ... }` as written, before resolution."""

    name: str
    loc: Loc
    parent: str | None = None
    parent_loc: Loc | None = None
    settings: list[tuple[str, Setting]] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    mutators: list[Mutator] = field(default_factory=list)
    transforms: list[Transform] = field(default_factory=list)
    drops: list[tuple[str, Loc]] = field(default_factory=list)
    prot: list[ProtItem] = field(default_factory=list)
    prot_entries: list[ProtEntry] = field(default_factory=list)
    none_ignores: list[NameList] = field(default_factory=list)
    pfn_pte_applies: list[NameList] = field(default_factory=list)
    cache: list[tuple[str, Choice]] = field(default_factory=list)
    tlb: list[Kind] = field(default_factory=list)
    advance: list[tuple[str, Loc]] = field(default_factory=list)
    pg_arch_1: list[tuple[str, str | None, Loc]] = field(default_factory=list)
    cpu: list[tuple[str, Loc]] = field(default_factory=list)
    prefault: list[tuple[Expr | None, Loc]] = field(default_factory=list)
    primitives: list[Primitive] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    cites: list[Cite] = field(default_factory=list)
    empty: list[ProtItem] = field(default_factory=list)
    sw_mkyoung: list[Loc] = field(default_factory=list)
    configs: list[KConfig] = field(default_factory=list)
    kernel_diffs: list[KernelDiff] = field(default_factory=list)


_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
_PARSER: lark.Lark | None = None


def _parser() -> lark.Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = lark.Lark(_GRAMMAR, parser="lalr", propagate_positions=True,
                            maybe_placeholders=True)
    return _PARSER


class _Bail(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.message)
        self.diag = diag


def decode(path: str, data: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Bytes to text, or a located diagnostic saying why not."""
    if len(data) > MAX_FILE_BYTES:
        return None, [Diagnostic(Loc(path, 1, 1),
                                 f"file is {len(data)} bytes; archdefs are limited to {MAX_FILE_BYTES}")]
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        col = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        return None, [Diagnostic(Loc(path, line, col), "binary data (NUL byte) in an archdef")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return None, [Diagnostic(Loc(path, line, col),
                                 f"invalid UTF-8 (byte 0x{data[e.start]:02x}); archdefs are UTF-8 text")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


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


def _tree_too_deep(path: str, tree: Tree) -> Diagnostic | None:
    """The first node nested deeper than MAX_TREE_DEPTH (iterative walk)."""
    todo: list[tuple[Tree, int]] = [(tree, 0)]
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
        ch = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else "?"
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
    walker = _Walker(path)
    decls: list[ArchDecl] = []
    try:
        for node in tree.children:
            assert isinstance(node, Tree)
            decls.append(walker.arch(node))
    except _Bail as b:
        return decls, walker.diags + [b.diag]
    return decls, walker.diags


def parse_file(path: str, shown: str | None = None) -> tuple[list[ArchDecl], list[Diagnostic], str | None]:
    """Read and parse one file; locations use `shown` (default: path)."""
    name = shown if shown is not None else path
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return [], [Diagnostic(Loc(name, 1, 1), f"cannot read: {e.strerror}")], None
    text, diags = decode(name, data)
    if text is None:
        return [], diags, None
    decls, pdiags = parse_text(name, text)
    return decls, pdiags, text


class _Walker:
    """Turns the Lark tree into ArchDecl records (the syntax layer)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.origin = ""
        self.diags: list[Diagnostic] = []

    # -- helpers -----------------------------------------------------------
    def loc(self, node: Tree | Token) -> Loc:
        if isinstance(node, Token):
            return Loc(self.path, node.line or 1, node.column or 1)
        meta = node.meta
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
                    raise _Bail(Diagnostic(self.loc(tok), "number too large"))
                v = int(s, 10)
        except ValueError:
            raise _Bail(Diagnostic(self.loc(tok), f"malformed number {str(tok)!r}"))
        if v.bit_length() > MAX_INT_BITS:
            raise _Bail(Diagnostic(self.loc(tok),
                                   f"number too large (more than {MAX_INT_BITS} bits)"))
        return v

    @staticmethod
    def kids(node: Tree) -> list[Tree | Token | None]:
        return list(node.children)

    # -- arch --------------------------------------------------------------
    def arch(self, node: Tree) -> ArchDecl:
        name_tok, ext, *items = node.children
        assert isinstance(name_tok, Token)
        d = ArchDecl(str(name_tok), self.loc(name_tok))
        self.origin = d.name
        if isinstance(ext, Tree):
            ptok = ext.children[0]
            assert isinstance(ptok, Token)
            d.parent, d.parent_loc = str(ptok), self.loc(ptok)
        for it in items:
            assert isinstance(it, Tree)
            self.item(d, it)
        return d

    def item(self, d: ArchDecl, it: Tree) -> None:
        kind = it.data
        ch = it.children
        if kind == "setting":
            key_tree, val = ch
            assert isinstance(key_tree, Tree) and isinstance(val, Token)
            key = key_tree.children[0]
            assert isinstance(key, Token)
            d.settings.append((str(key), Setting(self.int_(val), self.loc(key), self.origin)))
        elif kind == "pte_block":
            for p in ch:
                assert isinstance(p, Tree)
                self.pte_item(d, p)
        elif kind == "prot_block":
            for p in ch:
                assert isinstance(p, Tree)
                key = p.children[0]
                vals: list[tuple[str, int | None]] = []
                for fv in p.children[1:]:
                    assert isinstance(fv, Tree)
                    fname, fval = fv.children
                    assert isinstance(fname, Token)
                    vals.append((str(fname), self.int_(fval) if isinstance(fval, Token) else None))
                if p.data == "prot_entry":
                    assert isinstance(key, Tree)
                    names = tuple(str(t) for t in key.children)
                    flags = 0
                    for n in names:
                        flags |= catalog.VM_FLAGS.get(n, 0)
                    d.prot_entries.append(ProtEntry(
                        names, flags, tuple(vals), self.loc(p), self.origin,
                        tuple(self.loc(t) for t in key.children if isinstance(t, Token))))
                    continue
                assert isinstance(key, Token)
                d.prot.append(ProtItem(str(key), tuple(vals), self.loc(key), self.origin))
        elif kind == "cache_block":
            for c in ch:
                assert isinstance(c, Tree)
                key_tree, choice = c.children
                assert isinstance(key_tree, Tree) and isinstance(choice, Tree)
                key = key_tree.children[0]
                assert isinstance(key, Token)
                d.cache.append((str(key), self.choice(choice)))
        elif kind == "tlb_setting":
            k = ch[0]
            assert isinstance(k, Tree)
            d.tlb.append(self.kind(k))
        elif kind == "advance_setting":
            t = ch[0]
            assert isinstance(t, Token)
            d.advance.append((str(t), self.loc(t)))
        elif kind == "pg_arch_1_setting":
            use, gran = ch
            assert isinstance(use, Token)
            d.pg_arch_1.append((str(use), str(gran) if isinstance(gran, Token) else None,
                                self.loc(use)))
        elif kind == "cpu_decl":
            for t in ch:
                assert isinstance(t, Token)
                d.cpu.append((str(t), self.loc(t)))
        elif kind == "prefault_setting":
            cond = ch[0]
            d.prefault.append((self.expr(cond) if isinstance(cond, Tree | Token) else None,
                               self.loc(it)))
        elif kind == "primitives_block":
            for p in ch:
                assert isinstance(p, Tree)
                key, val = p.children
                assert isinstance(key, Token) and isinstance(val, Token)
                d.primitives.append(Primitive(str(key), str(val)[1:-1], self.loc(key), self.origin))
        elif kind == "call_def":
            name, body = ch
            assert isinstance(name, Token) and isinstance(body, Tree)
            if body.data == "generic":
                d.calls.append(Call(str(name), True, (), self.loc(name), self.origin))
            else:
                d.calls.append(Call(str(name), False, self.block(body), self.loc(name), self.origin))
        elif kind == "empty_setting":
            vals: list[tuple[str, int | None]] = []
            for fv in ch:
                assert isinstance(fv, Tree)
                fname, fval = fv.children
                assert isinstance(fname, Token)
                vals.append((str(fname), self.int_(fval) if isinstance(fval, Token) else None))
            d.empty.append(ProtItem("empty_pte", tuple(vals), self.loc(it), self.origin))
        elif kind == "sw_mkyoung_setting":
            d.sw_mkyoung.append(self.loc(it))
        elif kind == "config_setting":
            strs = [str(s)[1:-1] for s in ch if isinstance(s, Token)]
            d.configs.append(KConfig(strs[0], tuple(strs[1:]), self.loc(it), self.origin))
        elif kind == "kernel_diff":
            ver, fact, commit = (str(s)[1:-1] for s in ch if isinstance(s, Token))
            d.kernel_diffs.append(KernelDiff(ver, fact, commit, self.loc(it), self.origin))
        elif kind == "cite":
            key_tree, text = ch
            assert isinstance(key_tree, Tree) and isinstance(text, Token)
            key = key_tree.children[0]
            assert isinstance(key, Token)
            d.cites.append(Cite(str(key), str(text)[1:-1], self.loc(key), self.origin))
        else:  # pragma: no cover - grammar and walker out of step
            raise _Bail(Diagnostic(self.loc(it), f"internal: unhandled item {kind}"))

    def pte_item(self, d: ArchDecl, p: Tree) -> None:
        ch = p.children
        if p.data == "field":
            name, bits, role, overlaps, kmacro = ch
            assert isinstance(name, Token) and isinstance(bits, Tree)
            lo_t, hi_t = bits.children
            assert isinstance(lo_t, Token)
            lo = self.int_(lo_t)
            hi = self.int_(hi_t) if isinstance(hi_t, Token) else lo
            rname: str | None = None
            offset = 0
            inverted = False
            if isinstance(role, Tree):
                r, off, inv = role.children
                assert isinstance(r, Token)
                rname = str(r)
                offset = self.int_(off) if isinstance(off, Token) else 0
                inverted = inv is not None
            ov: tuple[str, ...] = ()
            if isinstance(overlaps, Tree):
                ov = tuple(str(t) for t in overlaps.children)
            kname: str | None = None
            if isinstance(kmacro, Tree):
                kt = kmacro.children[0]
                assert isinstance(kt, Token)
                kname = str(kt)[1:-1] if kt.type == "STRING" else str(kt)
            d.fields.append(Field(str(name), lo, hi, rname, inverted, offset, ov,
                                  self.loc(name), self.origin, kname))
        elif p.data == "derived":
            name, e = ch
            assert isinstance(name, Token)
            d.derived.append(Derived(str(name), self.expr(e), self.loc(name), self.origin))
        elif p.data == "mutator":
            name, *body = ch
            assert isinstance(name, Token)
            d.mutators.append(Mutator(str(name), self.stmts(body), self.loc(name), self.origin))
        elif p.data == "transform":
            target, e = ch
            assert isinstance(target, Token)
            d.transforms.append(Transform(str(target), self.expr(e), self.loc(p), self.origin))
        elif p.data == "drop":
            t = ch[0]
            assert isinstance(t, Token)
            d.drops.append((str(t), self.loc(t)))
        elif p.data in ("none_ignores", "pfn_pte_applies"):
            toks = [t for t in ch if isinstance(t, Token)]
            nl = NameList(tuple(str(t) for t in toks), self.loc(p), self.origin,
                          tuple(self.loc(t) for t in toks))
            (d.none_ignores if p.data == "none_ignores" else d.pfn_pte_applies).append(nl)

    def kind(self, k: Tree) -> Kind:
        name, args = k.children
        assert isinstance(name, Token)
        pos, params = self.args(args) if isinstance(args, Tree) else (None, ())
        if pos is not None:
            params = (("", pos),) + params
        return Kind(str(name), params, self.loc(name))

    def choice(self, c: Tree) -> Choice:
        options: list[tuple[Expr | None, Kind]] = []
        node: Tree | None = c
        while node is not None:
            k, cond, rest = node.children
            assert isinstance(k, Tree)
            options.append((self.expr(cond) if cond is not None else None, self.kind(k)))
            node = rest if isinstance(rest, Tree) else None
        return Choice(tuple(options), self.loc(c), self.origin)

    def args(self, a: Tree) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        pos: str | None = None
        params: list[tuple[str, str]] = []
        for arg in a.children:
            if arg is None:
                continue
            assert isinstance(arg, Tree)
            if len(arg.children) == 1:
                t = arg.children[0]
                assert isinstance(t, Token)
                if pos is not None:
                    raise _Bail(Diagnostic(self.loc(t), "only one positional argument is allowed"))
                pos = str(self.int_(t)) if t.type == "INT" else str(t)
            else:
                k, v = arg.children
                assert isinstance(k, Token)
                if v is None:
                    if pos is not None:
                        raise _Bail(Diagnostic(self.loc(k), "only one positional argument is allowed"))
                    pos = str(k)
                else:
                    assert isinstance(v, Token)
                    params.append((str(k), str(self.int_(v)) if v.type == "INT" else str(v)))
        return pos, tuple(params)

    # -- statements --------------------------------------------------------
    def block(self, b: Tree) -> tuple[Stmt, ...]:
        return self.stmts(list(b.children))

    def stmts(self, nodes: list[Tree | Token | None]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for n in nodes:
            assert isinstance(n, Tree)
            out.append(self.stmt(n))
        return tuple(out)

    def stmt(self, s: Tree) -> Stmt:
        ch = s.children
        if s.data == "when_stmt":
            cond, then, orelse = ch
            assert isinstance(then, Tree)
            els: tuple[Stmt, ...] = ()
            if isinstance(orelse, Tree):
                els = self.block(orelse) if orelse.data == "block" else (self.stmt(orelse),)
            return When(self.expr(cond), self.block(then), els, self.loc(s))
        if s.data == "each_stmt":
            kind, src, rev, body = ch
            assert isinstance(kind, Token) and isinstance(body, Tree)
            return Each(str(kind), str(src) if isinstance(src, Token) else "range",
                        rev is not None, self.block(body), self.loc(s))
        if s.data == "flag_stmt":
            op_tree, ref, val = ch
            assert isinstance(op_tree, Tree) and isinstance(ref, Tree)
            op = op_tree.children[0]
            assert isinstance(op, Token)
            r = self.expr(ref)
            assert isinstance(r, Ref)
            return FlagOp(str(op), r, self.int_(val) if isinstance(val, Token) else None,
                          self.loc(s))
        if s.data == "effect_stmt":
            name, args, body = ch
            assert isinstance(name, Token)
            pos, params = self.args(args) if isinstance(args, Tree) else (None, ())
            inner = self.block(body) if isinstance(body, Tree) else ()
            return EffectStmt(str(name), pos, params, self.loc(name), inner)
        raise _Bail(Diagnostic(self.loc(s), f"internal: unhandled statement {s.data}"))

    # -- expressions -------------------------------------------------------
    def expr(self, e: Tree | Token | None) -> Expr:
        if isinstance(e, Token):
            if e.type == "INT":
                return Num(self.int_(e), self.loc(e))
            return Ref((str(e),), self.loc(e))
        assert isinstance(e, Tree)
        loc = self.loc(e)
        if e.data == "ref":
            return Ref(tuple(str(t) for t in e.children), loc)
        if e.data == "number":
            t = e.children[0]
            assert isinstance(t, Token)
            return Num(self.int_(t), loc)
        if e.data == "not_expr":
            return Not(self.expr(e.children[0]), loc)
        if e.data in ("or_expr", "and_expr"):
            return BoolOp(e.data[:-5], tuple(self.expr(c) for c in e.children), loc)
        if e.data == "compare":
            left, op, right = e.children
            return Compare(str(op), self.expr(left), self.expr(right), loc)
        if e.data == "any_expr":
            return AnyOf(self.expr(e.children[0]), loc)
        raise _Bail(Diagnostic(loc, f"internal: unhandled expression {e.data}"))
