"""File-level import cycles of a crate: follows `crate::` paths, `super::` paths and
re-exports (`pub use child::Item`) to the file that defines the item; ignores comments and
test modules."""
import os, re, sys
root = sys.argv[1]
files = {}
for dp, dn, fn in os.walk(root):
    for f in fn:
        if f.endswith('.rs'):
            p = os.path.join(dp, f); rel = os.path.relpath(p, root)
            mod = rel[:-3].replace(os.sep, '::')
            if mod.endswith('::mod') : mod = mod[:-5]
            if mod == 'mod': mod = ''
            if mod == 'lib': mod = ''
            files[mod] = p
def text(m):
    src = open(files[m]).read()
    src = re.split(r'#\[cfg\(test\)\]', src)[0]
    return '\n'.join(l for l in src.split('\n') if not l.strip().startswith('//'))
texts = {m: text(m) for m in files}
def reexport(m, item, depth=0):
    """file defining `item` re-exported by module m"""
    if depth > 5: return m
    for mm in re.finditer(r'pub use ([a-z_0-9:]+)::(\{[^}]*\}|[A-Za-z_0-9]+)\s*;', texts[m]):
        path, items = mm.group(1), mm.group(2)
        names = [x.strip().split(' as ')[-1] for x in items.strip('{}').split(',')]
        if item in names:
            if path.startswith('crate::'): full = path[7:]
            elif path.startswith('super::'): full = (m.rsplit('::',1)[0] + '::' + path[7:]) if '::' in m else path[7:]
            else: full = (m + '::' + path) if m else path
            t = resolve(full + '::' + item, depth + 1)
            return t if t else m
    return m
def resolve(path, depth=0):
    parts = path.split('::')
    for n in range(len(parts), 0, -1):
        m = '::'.join(parts[:n])
        if m in files:
            rest = parts[n:]
            if rest and files[m].endswith(('mod.rs', 'lib.rs')):
                return reexport(m, rest[0], depth)
            return m
    if parts and parts[0] and '' in files:
        return reexport('', parts[0], depth)
    return None
graph = {m: set() for m in files}
for m in files:
    src = texts[m]
    refs = re.findall(r'crate::((?:[a-z_0-9]+::)*(?:[A-Za-z_0-9]+))', src)
    for pre, group in re.findall(r'crate::((?:[a-z_0-9]+::)+)\{([^{}]*)\}', src):
        for it in group.split(','):
            it = it.strip().split(' as ')[0]
            if it and it != 'self': refs.append(pre + it)
    parent = m.rsplit('::', 1)[0] if '::' in m else ''
    base = m if files[m].endswith('mod.rs') else parent
    sup = re.findall(r'\bsuper::((?:[a-z_0-9]+::)*[A-Za-z_0-9]+)', src)
    for pre, group in re.findall(r'\bsuper::((?:[a-z_0-9]+::)*)\{([^{}]*)\}', src):
        for it in group.split(','):
            it = it.strip().split(' as ')[0]
            if it and it != 'self': sup.append(pre + it)
    for r in sup:
        b = base.rsplit('::', 1)[0] if '::' in base else ''
        if not files[m].endswith('mod.rs'): b = parent
        refs.append(((b + '::') if b else '') + r)
    for ref in refs:
        t = resolve(ref)
        if t is not None and t != m: graph[m].add(t)
idx, low, st, on, sccs, c = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in graph[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
for v in graph:
    if v not in idx: sc(v)
for s in sccs:
    print(len(s), s)
    for v in s: print('   ', v or 'lib', '->', sorted(w for w in graph[v] if w in s))
if not sccs: print('no import cycle')
