pub mod obol_api;
