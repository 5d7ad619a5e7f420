#!/usr/bin/env python3
"""Checks the #include edges of the tree against schemad's module graph.

Modules are the folders of src/ and include/schemad/ (plus server/ and
client/). A file may include headers of its own module and of the modules
it depends on, directly or through others; the graph below is the one the
top-level CMakeLists.txt links. Also checked: libpqxx is included only
by the database layer (db, catalog), directly or through any header it
includes (apply talks to PostgreSQL through schemad/db/session.h, which
names no libpqxx type); no public header (include/) includes libpqxx or a
private header (src/); db includes nothing of catalog. Prints every violation with its file and line and
exits 1 when there is one.
"""
import os
import re
import sys

# Direct dependencies; a module may also use what its dependencies use.
GRAPH = {
    'common': [],
    'model': ['common'],
    'sqlparse': ['common'],
    'ddl': ['model'],
    'registry': ['model', 'ddl', 'sqlparse'],
    'diff': ['model', 'ddl'],
    'plan': ['diff', 'ddl'],
    'db': ['common'],
    'catalog': ['db', 'registry', 'ddl'],
    'apply': ['catalog', 'plan', 'db'],
    'server': ['apply'],
    'client': [],
}
# Where libpqxx may be included, directly or through other headers.
PQXX_MODULES = {'db', 'catalog'}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def closure(module):
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(GRAPH[m])
    return seen


def module_of_file(rel):
    parts = rel.split('/')
    if parts[0] == 'src':
        return parts[1], False
    if parts[0] == 'include' and parts[1] == 'schemad':
        return parts[2], True
    if parts[0] in ('server', 'client'):
        return parts[0], False
    return None, False


def module_of_include(path, root):
    """The module a quoted include names, or None for third-party and local headers."""
    parts = path.split('/')
    if parts[0] == 'schemad' and len(parts) > 2 and parts[1] in GRAPH:
        return parts[1], False
    if len(parts) > 1 and parts[0] in GRAPH and os.path.exists(os.path.join(root, 'src', path)):
        return parts[0], True  # a module's private header, from src/
    return None, False


def resolve(path, root, here):
    """The tree's file an include names (src/, include/, or next to the
    including file), or None for headers outside the tree."""
    for base in ('src', 'include', here):
        full = os.path.join(root, base, path)
        if os.path.isfile(full):
            return os.path.relpath(full, root)
    return None


def reaches_pqxx(rel, root, visiting=frozenset()):
    """The chain of headers through which `rel` includes libpqxx, or None.
    Includes are resolved against src/, include/ and the file's own folder;
    a header already on the path (a cycle) adds nothing."""
    with open(os.path.join(root, rel), encoding='utf-8') as f:
        for line in f:
            m = INCLUDE.match(line)
            if not m:
                continue
            if m.group(2).startswith('pqxx/'):
                return [rel]
            target = resolve(m.group(2), root, os.path.dirname(rel))
            if target is None or target in visiting or target == rel:
                continue
            chain = reaches_pqxx(target, root, visiting | {rel})
            if chain:
                return [rel] + chain
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
    unknown = [d for d in os.listdir(os.path.join(root, 'src')) if d not in GRAPH]
    problems = [f'src/{d}: a module the graph in tests/check_modules.py does not know'
                for d in sorted(unknown)]
    files = 0
    for top in ('src', 'include', 'server', 'client'):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith(('.cc', '.h')):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                module, public = module_of_file(rel)
                if module is None:
                    continue
                files += 1
                allowed = closure(module)
                if module not in PQXX_MODULES:
                    chain = reaches_pqxx(rel, root)
                    if chain and len(chain) > 1:
                        problems.append(f'{rel}: module {module} reaches libpqxx through '
                                        f'{" -> ".join(chain[1:])}')
                with open(os.path.join(root, rel), encoding='utf-8') as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        path = m.group(2)
                        where = f'{rel}:{number}'
                        if path.startswith('pqxx/'):
                            if public:
                                problems.append(f'{where}: a public header includes libpqxx')
                            elif module not in PQXX_MODULES:
                                problems.append(f'{where}: module {module} includes libpqxx')
                            continue
                        target, private = module_of_include(path, root)
                        if target is None:
                            continue
                        if public and private:
                            problems.append(f'{where}: a public header includes private {path}')
                        if target not in allowed:
                            problems.append(f'{where}: module {module} includes {path} of module '
                                            f'{target}, which it does not depend on')
    for p in problems:
        print(p)
    print(f'check_modules: {files} files, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
