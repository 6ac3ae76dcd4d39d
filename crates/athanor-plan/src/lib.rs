//! Experiment planning: Sobol designs, Gaussian-process surrogates and Bayesian optimisation with an ask/tell interface.
