"""The genetic kind's LLM agent: the planner (:mod:`.genetic`), its batch builder, factory,
the gene-set reranker and the tools it calls over gene sets and measurements."""
