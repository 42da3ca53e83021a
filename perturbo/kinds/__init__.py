"""perturbo/kinds"""
