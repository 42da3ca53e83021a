"""The genetic kind's planners: gene-set BO (:mod:`.gene_bo` and its parts), the set priors
(:mod:`.gene_priors`), text embeddings (:mod:`.gene_text`) and the gene-pair planner
(:mod:`.gene_pairs`)."""
