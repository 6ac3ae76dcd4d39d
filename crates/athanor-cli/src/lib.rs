//! The athanor command-line tool.
