//! Tool schemas as Gemini takes them: real JSON Schema (`parametersJsonSchema`) for 2.5 and
//! later, without the `$schema` keyword it refuses; for older models the cleaned OpenAPI 3.0
//! subset of `parameters`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The schema without a top-level `$schema` (which Gemini refuses); untouched when absent.
/// The other members are copied as written (nothing below the top level is parsed or
/// reordered).
pub(super) fn without_schema_keyword(schema: &RawValue) -> Cow<'_, RawValue> {
    if !schema.get().contains("\"$schema\"") {
        return Cow::Borrowed(schema);
    }
    let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(schema.get()) else {
        return Cow::Borrowed(schema);
    };
    let mut out = String::with_capacity(schema.get().len());
    out.push('{');
    for (key, value) in members.iter().filter(|(k, _)| k != "$schema") {
        if out.len() > 1 {
            out.push(',');
        }
        // Serializing a string cannot fail.
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    RawValue::from_string(out).map_or(Cow::Borrowed(schema), Cow::Owned)
}

/// The members of a JSON object in their order, values kept as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The keys Gemini's `Schema` accepts; any other fails the whole request.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "propertyOrdering",
    "default",
    "example",
];

/// How deep `$ref`s are followed before a schema is cut short (recursive definitions), and how
/// many are inlined in all (a definition referring to itself twice would double at each level).
const MAX_REF_DEPTH: usize = 8;
const MAX_REFS: usize = 256;

/// A JSON Schema as Gemini's `parameters`: references inlined, `const` as a one-value enum,
/// type lists as `nullable` or `anyOf`, `oneOf` as `anyOf`, `allOf` merged, and every key it
/// does not know dropped. `None` for a schema with no properties (Gemini refuses an empty
/// OBJECT) or one that is not JSON.
pub(super) fn legacy_parameters(schema: &RawValue) -> Option<Value> {
    let root: Value = serde_json::from_str(schema.get()).ok()?;
    let defs = root
        .get("$defs")
        .or_else(|| root.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut refs = 0;
    let cleaned = clean_schema(&root, &defs, 0, &mut refs);
    let has_properties = cleaned
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    has_properties.then_some(cleaned)
}

fn clean_schema(schema: &Value, defs: &Value, depth: usize, refs: &mut usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::Object(Map::new());
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return match defs.get(name) {
            Some(target) if depth < MAX_REF_DEPTH && *refs < MAX_REFS => {
                *refs += 1;
                clean_schema(target, defs, depth + 1, refs)
            }
            // A recursive definition, cut short: any object.
            _ => serde_json::json!({"type": "OBJECT"}),
        };
    }
    let mut merged = obj.clone();
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for part in all {
            if let Some(part) = part.as_object() {
                for (k, v) in part {
                    match (k.as_str(), merged.get_mut(k)) {
                        ("properties", Some(Value::Object(props))) => {
                            if let Some(more) = v.as_object() {
                                props.extend(more.clone());
                            }
                        }
                        ("required", Some(Value::Array(req))) => {
                            if let Some(more) = v.as_array() {
                                req.extend(more.iter().cloned());
                            }
                        }
                        (_, Some(_)) => {}
                        (_, None) => {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
    }
    let mut out = Map::new();
    for (key, value) in &merged {
        match key.as_str() {
            "type" => match value {
                Value::String(t) => {
                    out.insert("type".into(), Value::from(t.to_ascii_uppercase()));
                }
                Value::Array(types) => {
                    let named: Vec<&str> = types
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|t| *t != "null")
                        .collect();
                    if named.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    match named.as_slice() {
                        [] => {}
                        [one] => {
                            out.insert("type".into(), Value::from(one.to_ascii_uppercase()));
                        }
                        many => {
                            let any: Vec<Value> = many
                                .iter()
                                .map(|t| {
                                    let mut m = Map::new();
                                    m.insert("type".into(), Value::from(t.to_ascii_uppercase()));
                                    Value::Object(m)
                                })
                                .collect();
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                _ => {}
            },
            "properties" => {
                if let Some(props) = value.as_object() {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(k, v)| (k.clone(), clean_schema(v, defs, depth, refs)))
                        .collect();
                    if !cleaned.is_empty() {
                        out.insert("properties".into(), Value::Object(cleaned));
                    }
                }
            }
            "items" => {
                let item = match value {
                    Value::Array(tuple) => tuple.first().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                };
                out.insert("items".into(), clean_schema(&item, defs, depth, refs));
            }
            "anyOf" | "oneOf" => {
                if let Some(options) = value.as_array() {
                    let cleaned: Vec<Value> = options
                        .iter()
                        .map(|o| clean_schema(o, defs, depth, refs))
                        .collect();
                    out.insert("anyOf".into(), Value::Array(cleaned));
                }
            }
            "const" => {
                if let Value::String(s) = value {
                    out.insert("enum".into(), Value::Array(vec![Value::from(s.clone())]));
                }
            }
            "enum" => {
                // Gemini's enums are strings.
                if let Some(values) = value.as_array() {
                    if values.iter().all(Value::is_string) {
                        out.insert("enum".into(), value.clone());
                    }
                }
            }
            "format" => {
                if matches!(
                    value.as_str(),
                    Some("enum" | "date-time" | "int32" | "int64" | "float" | "double")
                ) {
                    out.insert(key.clone(), value.clone());
                }
            }
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if out.contains_key("enum") && !out.contains_key("type") {
        out.insert("type".into(), Value::from("STRING"));
    }
    // `required` may only name properties that exist.
    if let Some(Value::Array(required)) = out.get("required").cloned() {
        let props = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|name| props.is_some_and(|p| p.contains_key(name)))
            })
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}
