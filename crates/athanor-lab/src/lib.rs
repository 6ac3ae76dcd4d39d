//! Orchestration: campaigns, the plan-run-measure-analyse-learn loop, drivers, safety interlocks and crash recovery.
