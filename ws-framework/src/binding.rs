//! Data binding (Ballerina section 1.10): messages to typed values and back.
//!
//! Text binds to `String` raw and to anything else as JSON; binary binds to byte containers raw
//! and to anything else as UTF-8 JSON. Whether a type wants the raw form is found by asking its
//! `Deserialize` impl which shape it expects, so no type is judged by its name.

use crate::error::{Error, Result};
use crate::proto::{Message, Utf8Bytes};
use bytes::Bytes;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::Serialize;

/// Serialises `value` as a message: a string as text, bytes as binary, anything else as JSON text.
pub fn to_message<T: Serialize + ?Sized>(value: &T) -> Result<Message> {
    match value.serialize(Probe) {
        Ok(Shape::Str(s)) => Ok(Message::Text(Utf8Bytes::from(s))),
        Ok(Shape::Bytes(b)) => Ok(Message::Binary(Bytes::from(b))),
        _ => serde_json::to_string(value)
            .map(|json| Message::Text(Utf8Bytes::from(json)))
            .map_err(|e| Error::PayloadBinding(format!("cannot serialise the value as JSON: {e}"))),
    }
}

/// Binds a text message to `T`: `String` (and other string-shaped types) raw, anything else
/// from JSON; a unit-only enum also binds from its bare variant name.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T> {
    match expected_shape::<T>() {
        Expect::Str => T::deserialize(de::value::StrDeserializer::<de::value::Error>::new(text))
            .map_err(|e| binding_error(&e)),
        Expect::Enum => serde_json::from_str(text).or_else(|json_err| {
            T::deserialize(de::value::StrDeserializer::<de::value::Error>::new(text))
                .map_err(|_| binding_error(&json_err))
        }),
        _ => serde_json::from_str(text).map_err(|e| binding_error(&e)),
    }
}

/// Binds a binary message to `T`: byte containers raw, anything else from UTF-8 JSON (or the
/// text rules).
pub fn from_binary<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    match expected_shape::<T>() {
        Expect::Bytes => {
            T::deserialize(de::value::BytesDeserializer::<de::value::Error>::new(bytes))
                .map_err(|e| binding_error(&e))
        }
        Expect::Seq => {
            // Vec<u8> and friends: try the bytes as a sequence of u8 first.
            let seq = de::value::SeqDeserializer::<_, de::value::Error>::new(bytes.iter().copied());
            T::deserialize(seq).or_else(|_| from_binary_text(bytes))
        }
        _ => from_binary_text(bytes),
    }
}

fn from_binary_text<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::PayloadBinding("binary message is not valid UTF-8".into()))?;
    from_text(text)
}

/// Binds a message of either kind.
pub fn from_message<T: DeserializeOwned>(message: &Message) -> Result<T> {
    match message {
        Message::Text(t) => from_text(t),
        Message::Binary(b) => from_binary(b),
    }
}

fn binding_error(e: &dyn std::fmt::Display) -> Error {
    Error::PayloadBinding(e.to_string())
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Str,
    Bytes,
    Seq,
    Enum,
    Other,
}

/// Asks `T`'s `Deserialize` impl which `deserialize_*` method it calls first.
fn expected_shape<T: DeserializeOwned>() -> Expect {
    let mut seen = Expect::Other;
    let _ = T::deserialize(ShapeProbe { seen: &mut seen });
    seen
}

struct ShapeProbe<'a> {
    seen: &'a mut Expect,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("shape probe")
    }
}
impl std::error::Error for Stop {}
impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}
impl serde::ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

macro_rules! probe_methods {
    ($($method:ident => $shape:expr),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Stop> {
            *self.seen = $shape;
            Err(Stop)
        })*
    };
}

impl<'de> de::Deserializer<'de> for ShapeProbe<'_> {
    type Error = Stop;
    probe_methods! {
        deserialize_str => Expect::Str, deserialize_string => Expect::Str,
        deserialize_bytes => Expect::Bytes, deserialize_byte_buf => Expect::Bytes,
        deserialize_seq => Expect::Seq,
        deserialize_any => Expect::Other, deserialize_bool => Expect::Other, deserialize_i8 => Expect::Other,
        deserialize_i16 => Expect::Other, deserialize_i32 => Expect::Other, deserialize_i64 => Expect::Other,
        deserialize_u8 => Expect::Other, deserialize_u16 => Expect::Other, deserialize_u32 => Expect::Other,
        deserialize_u64 => Expect::Other, deserialize_f32 => Expect::Other, deserialize_f64 => Expect::Other,
        deserialize_char => Expect::Other, deserialize_option => Expect::Other, deserialize_unit => Expect::Other,
        deserialize_map => Expect::Other, deserialize_identifier => Expect::Other,
        deserialize_ignored_any => Expect::Other,
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        *self.seen = Expect::Enum;
        Err(Stop)
    }
}

/// What a value serialises as at the top level.
enum Shape {
    Str(String),
    Bytes(Vec<u8>),
    Other,
}

/// A serializer that only recognises a top-level string or byte string.
struct Probe;

macro_rules! other {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> std::result::Result<Shape, Stop> { Ok(Shape::Other) })*
    };
}

impl serde::Serializer for Probe {
    type Ok = Shape;
    type Error = Stop;
    type SerializeSeq = serde::ser::Impossible<Shape, Stop>;
    type SerializeTuple = serde::ser::Impossible<Shape, Stop>;
    type SerializeTupleStruct = serde::ser::Impossible<Shape, Stop>;
    type SerializeTupleVariant = serde::ser::Impossible<Shape, Stop>;
    type SerializeMap = serde::ser::Impossible<Shape, Stop>;
    type SerializeStruct = serde::ser::Impossible<Shape, Stop>;
    type SerializeStructVariant = serde::ser::Impossible<Shape, Stop>;

    fn serialize_str(self, v: &str) -> std::result::Result<Shape, Stop> {
        Ok(Shape::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> std::result::Result<Shape, Stop> {
        Ok(Shape::Bytes(v.to_vec()))
    }
    other! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str), serialize_unit_variant(&'static str, u32, &'static str),
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> std::result::Result<Shape, Stop> {
        Ok(Shape::Other)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> std::result::Result<Shape, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> std::result::Result<Shape, Stop> {
        Ok(Shape::Other)
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Self::SerializeSeq, Stop> {
        Err(Stop)
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Self::SerializeMap, Stop> {
        Err(Stop)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStruct, Stop> {
        Err(Stop)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Coord {
        x: i32,
        y: i32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Color {
        Red,
        Green,
    }

    #[test]
    fn text_binding() {
        assert_eq!(from_text::<String>("\"quoted\"").unwrap(), "\"quoted\"");
        assert_eq!(
            from_text::<Coord>(r#"{"x":1,"y":2}"#).unwrap(),
            Coord { x: 1, y: 2 }
        );
        assert_eq!(from_text::<i64>("42").unwrap(), 42);
        assert_eq!(
            from_text::<serde_json::Value>(r#"{"a":1}"#).unwrap()["a"],
            1
        );
        assert_eq!(from_text::<Color>("Red").unwrap(), Color::Red);
        assert_eq!(from_text::<Color>("\"Green\"").unwrap(), Color::Green);
        assert_eq!(
            from_text::<Vec<Coord>>(r#"[{"x":1,"y":2}]"#).unwrap().len(),
            1
        );
        let err = from_text::<Coord>("not json").unwrap_err();
        assert!(matches!(err, Error::PayloadBinding(_)), "{err}");
    }

    #[test]
    fn binary_binding() {
        assert_eq!(
            from_binary::<Vec<u8>>(&[5, 24, 56]).unwrap(),
            vec![5, 24, 56]
        );
        assert_eq!(
            from_binary::<Coord>(br#"{"x":3,"y":4}"#).unwrap(),
            Coord { x: 3, y: 4 }
        );
        assert_eq!(from_binary::<String>(b"hi").unwrap(), "hi");
        assert!(from_binary::<Coord>(&[0xff]).is_err());
    }

    #[test]
    fn serialisation() {
        assert_eq!(to_message("hi").unwrap(), Message::text("hi"));
        assert_eq!(
            to_message(&String::from("a\"b")).unwrap(),
            Message::text("a\"b")
        );
        assert_eq!(
            to_message(&Coord { x: 1, y: 2 }).unwrap(),
            Message::text(r#"{"x":1,"y":2}"#)
        );
        assert_eq!(to_message(&5).unwrap(), Message::text("5"));
        assert_eq!(to_message(&vec![1u8, 2]).unwrap(), Message::text("[1,2]"));
    }
}
