//! Google Vertex AI (Gemini and Claude on Google Cloud): for now, its OAuth access tokens.

pub mod auth;
