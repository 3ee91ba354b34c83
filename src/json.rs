//! JSON documents read as `serde_json::Value`, but refusing an object that gives a key twice:
//! `serde_json` keeps the last silently, so `{"code": "a", "code": "b"}` would be taken as
//! `b` with no word of the `a` the client also sent. RFC 8259 leaves such objects
//! unpredictable; riposte refuses them, naming the key.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON document, with each object's keys given once.
pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de.deserialize_any(Unique)?;
    de.end()?;
    Ok(value)
}

/// Where `from_slice` finds `bytes` unreadable: the path of the value it was reading
/// (`designations[0].actor`, `severity` for a number out of range), or None at the top.
pub fn failing_path(bytes: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    serde_path_to_error::Deserializer::new(&mut de, &mut track)
        .deserialize_any(Unique)
        .err()?;
    let path = track.path().to_string();
    (path != "." && !path.is_empty()).then_some(path)
}

struct Unique;

impl<'de> de::DeserializeSeed<'de> for Unique {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Unique)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Finite: JSON has no other numbers.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Unique)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(Unique)?;
            match map.entry(key) {
                Entry::Vacant(place) => {
                    place.insert(value);
                }
                Entry::Occupied(given) => {
                    return Err(de::Error::custom(format!(
                        "the key `{}` is given twice in one object; give it once",
                        given.key()
                    )))
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_and_the_rest_reads_as_serde_json_does() {
        let twice = from_slice(br#"{"a": 1, "b": {"c": [1, {"d": 2, "d": 3}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(twice.starts_with("the key `d` is given twice"), "{twice}");
        let text = r#"{"a": [1, -2, 3.5, 1e300, "x\u00e9", null, true], "b": {}, "c": 18446744073709551615}"#;
        assert_eq!(
            from_slice(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert!(from_slice(b"{} {}").is_err(), "trailing data");
        assert!(from_slice(b"").is_err());
    }
}
