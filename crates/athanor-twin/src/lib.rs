//! Digital twin of hot-injection quantum-dot synthesis: nucleation and growth kinetics, optics, and synthetic TEM micrographs with ground truth.
