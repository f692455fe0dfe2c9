//! Seeded generators of test inputs (filled in by the generator work).
