//! Seasonal-naive baseline (placeholder until the foundation lands).
