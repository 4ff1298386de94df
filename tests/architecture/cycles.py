"""An import-linter contract type: no module of a package imports itself back, however far
round (`make lint` runs it; import-linter's own types check layers and packages, not this)."""

from __future__ import annotations

from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class NoCyclesContract(Contract):
    """Kept when the modules of `package` import one another without a cycle."""

    type_name = "no_cycles"
    package = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        """The cycles found, each as the modules it runs through."""
        del verbose
        package = str(self.package)
        inside = {m for m in graph.modules if m == package or m.startswith(package + ".")}
        edges = {m: set(graph.find_modules_directly_imported_by(m)) & inside for m in inside}
        cycles = [sorted(group) for group in strongly_connected(edges) if len(group) > 1]
        return ContractCheck(kept=not cycles, metadata={"cycles": sorted(cycles)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """One line per cycle, naming its modules."""
        for cycle in check.metadata["cycles"]:
            output.print_error("Modules importing one another in a cycle: " + ", ".join(cycle))
            output.new_line()


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of a directed graph (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Any]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups
