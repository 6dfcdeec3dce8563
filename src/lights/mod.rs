//! Lights: pure driver encoders, fade planning and effects. Filled in by the lights issue.
