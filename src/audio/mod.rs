//! Audio: the real-time mixer (processor) and its control side (handle). Filled in by the audio issue.
