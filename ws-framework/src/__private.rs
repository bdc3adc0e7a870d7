//! Items used by the code `#[ws_service]` generates. Not a public API: anything here may change
//! in any release.
//!
//! Generated code names everything through this module (`::ws_framework::__private::...`), so
//! user items called `Result`, `Caller` or `Arc` never interfere. Parameters and return values
//! are bound through traits carrying `#[diagnostic::on_unimplemented]`, and the generated calls
//! are spanned on the user's types, so a wrong type is reported on that type with a note saying
//! what to write.
//!
//! # Return values
//!
//! A handler's value becomes a [`Reply`] by autoref specialization on its concrete type
//! (`(&&&&&Ret(&value)).__ws_reply_kind().into_reply(kind::on_text, value)`), trying in order:
//!
//! 1. [`Known`]: `()`, strings, bytes, close frames, and `Option` / `Result` of those;
//! 2. `Result<T, E>` with `T: Serialize`: `Ok` as below, `Err` to `on_error`;
//! 3. `Option<T>` with `T: Serialize`: `None` sends nothing;
//! 4. a `Stream` of [`StreamItem`]s: one message per item;
//! 5. any `Serialize`: [`to_message`](crate::binding::to_message) (JSON text).
//!
//! Each level then checks that the handler's kind allows that value ([`kind`]), so a close frame
//! from `on_open` or a message from `on_close` is a compile error naming the kind.

use crate::binding;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::caller::Caller;
pub use crate::error::Error;
pub use crate::proto::{CloseCode, CloseFrame, Utf8Bytes};
pub use crate::service::{Event, Handlers, Reply, Service, ServiceConfig};
pub use crate::upgrade::{UpgradeError, UpgradeRequest};
pub use bytes::Bytes;
pub use std::sync::Arc;
pub use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

// ---------------------------------------------------------------------------------------------
// Handler kinds and what each may return
// ---------------------------------------------------------------------------------------------

/// One marker type per handler kind, named like the attributes: diagnostics show them in
/// "the trait `CloseAllowed` is not implemented for `...::kind::on_open`".
#[allow(non_camel_case_types)]
pub mod kind {
    /// `#[on_open]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_open;
    /// `#[on_text]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_text;
    /// `#[on_binary]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_binary;
    /// `#[on_message]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_message;
    /// `#[on_dispatch]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_dispatch;
    /// A method named by `error = ...`.
    #[derive(Clone, Copy, Debug)]
    pub struct error_handler;
    /// `#[on_ping]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_ping;
    /// `#[on_pong]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_pong;
    /// `#[on_close]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_close;
    /// `#[on_error]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_error;
    /// `#[on_idle_timeout]`.
    #[derive(Clone, Copy, Debug)]
    pub struct on_idle_timeout;
}

/// How a kind sends bytes: a binary message, or (from `on_ping`) the pong.
pub trait Kind {
    /// The reply for returned bytes.
    fn bytes(bytes: Bytes) -> Reply {
        Reply::Binary(bytes)
    }
}

/// Kinds that may send text, JSON or a stream.
#[diagnostic::on_unimplemented(
    message = "this handler cannot send a message",
    label = "this return type sends a message",
    note = "`on_pong`, `on_close`, `on_error` and `on_idle_timeout` return `()` or `Result<(), E>` (the last two also a `CloseFrame`); `on_ping` returns the pong payload (`Vec<u8>` or `Bytes`); to send from here, use `caller.write_text(..)`"
)]
pub trait DataAllowed {}

/// Kinds that may return bytes.
#[diagnostic::on_unimplemented(
    message = "this handler cannot send bytes",
    label = "this return type sends a binary message",
    note = "return `()` or `Result<(), E>`; to send from here, use `caller.write_binary(..)`"
)]
pub trait BytesAllowed: Kind {}

/// Kinds that may close the connection by returning a close frame.
#[diagnostic::on_unimplemented(
    message = "this handler cannot return a close frame",
    label = "this return type closes the connection",
    note = "close frames may be returned from `on_text`, `on_binary`, `on_message`, dispatch handlers, `on_error` and `on_idle_timeout`; to refuse a connection, return an error from `#[on_upgrade]`; to close from here, call `caller.close(..)`"
)]
pub trait CloseAllowed {}

macro_rules! kinds {
    ($($kind:ident: $($cap:ident),*;)*) => {$(
        $(impl $cap for kind::$kind {})*
    )*};
}

impl Kind for kind::on_open {}
impl Kind for kind::on_text {}
impl Kind for kind::on_binary {}
impl Kind for kind::on_message {}
impl Kind for kind::on_dispatch {}
impl Kind for kind::error_handler {}
impl Kind for kind::on_pong {}
impl Kind for kind::on_close {}
impl Kind for kind::on_error {}
impl Kind for kind::on_idle_timeout {}
impl Kind for kind::on_ping {
    fn bytes(bytes: Bytes) -> Reply {
        Reply::Pong(bytes)
    }
}

kinds! {
    on_open: DataAllowed, BytesAllowed;
    on_text: DataAllowed, BytesAllowed, CloseAllowed;
    on_binary: DataAllowed, BytesAllowed, CloseAllowed;
    on_message: DataAllowed, BytesAllowed, CloseAllowed;
    on_dispatch: DataAllowed, BytesAllowed, CloseAllowed;
    error_handler: DataAllowed, BytesAllowed, CloseAllowed;
    on_ping: BytesAllowed;
    on_error: CloseAllowed;
    on_idle_timeout: CloseAllowed;
}

/// Errors a handler may return in `Err`: anything that converts into a boxed error (every
/// `std::error::Error`, `String`, `&str`, `anyhow::Error`, ...). A returned
/// [`Error`](crate::Error) reaches `on_error` as itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as a handler's error",
    label = "the error type of this `Result`",
    note = "a handler's `Err` goes to `on_error`; use `ws_framework::Error`, a `String`, or any type implementing `std::error::Error + Send + Sync`"
)]
pub trait HandlerError {
    /// Converts to the runtime's error.
    fn into_error(self) -> Error;
}

impl<E: Into<BoxError>> HandlerError for E {
    fn into_error(self) -> Error {
        Error::handler(self)
    }
}

/// Return types with a fixed meaning, checked against the handler's kind.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from this handler",
    label = "unsupported return type"
)]
pub trait KnownReply<K> {
    /// The reply.
    fn into_reply(self) -> Reply;
}

/// The types [`KnownReply`] covers, whatever the kind (used to pick the conversion).
pub trait Known {}

macro_rules! known {
    ($($ty:ty => |$v:ident| [$($bound:ident),*] $body:expr;)*) => {$(
        impl Known for $ty {}
        impl<K: Kind $(+ $bound)*> KnownReply<K> for $ty {
            fn into_reply(self) -> Reply {
                let $v = self;
                $body
            }
        }
    )*};
}

known! {
    () => |_v| [] Reply::None;
    String => |v| [DataAllowed] Reply::Text(v.into());
    &'static str => |v| [DataAllowed] Reply::Text(Utf8Bytes::from_static(v));
    Utf8Bytes => |v| [DataAllowed] Reply::Text(v);
    Vec<u8> => |v| [BytesAllowed] K::bytes(v.into());
    Bytes => |v| [BytesAllowed] K::bytes(v);
    CloseFrame => |v| [CloseAllowed] Reply::Close(v);
}

impl<T: Known> Known for Option<T> {}
impl<K, T: KnownReply<K>> KnownReply<K> for Option<T> {
    fn into_reply(self) -> Reply {
        match self {
            Some(value) => value.into_reply(),
            None => Reply::None,
        }
    }
}

impl<T: Known, E> Known for Result<T, E> {}
impl<K, T: KnownReply<K>, E: HandlerError> KnownReply<K> for Result<T, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => value.into_reply(),
            Err(error) => Reply::Error(error.into_error()),
        }
    }
}

/// Any `Serialize` value, sent by [`binding::to_message`] (a string as text, bytes as binary,
/// anything else as JSON text).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from this handler",
    label = "cannot be sent to the peer",
    note = "a handler may return `()`, a string, `Vec<u8>` / `Bytes`, a `CloseFrame`, a `Stream` of messages, any `serde::Serialize` type (sent as JSON), or an `Option` or `Result` of one of them",
    note = "for a type of your own, add `#[derive(serde::Serialize)]`"
)]
pub trait SerializeReply<K> {
    /// The reply.
    fn into_reply(self) -> Reply;
}

impl<K: DataAllowed, T: Serialize> SerializeReply<K> for T {
    fn into_reply(self) -> Reply {
        serialize(&self)
    }
}

fn serialize<T: Serialize>(value: &T) -> Reply {
    match binding::to_message(value) {
        Ok(crate::proto::Message::Text(text)) => Reply::Text(text),
        Ok(crate::proto::Message::Binary(bytes)) => Reply::Binary(bytes),
        Err(error) => Reply::Error(error),
    }
}

/// An item of a returned stream: a close frame closes the connection; anything `Serialize` is
/// sent by [`binding::to_message`] (use `Bytes`, not `Vec<u8>`, for binary items: a `Vec<u8>`
/// serialises as a JSON array).
#[diagnostic::on_unimplemented(
    message = "a stream of `{Self}` cannot be sent to the peer",
    label = "the items of this stream",
    note = "stream items are strings, `Bytes`, `CloseFrame`s or any `serde::Serialize` type (sent as JSON)"
)]
pub trait StreamItem {
    /// The reply for one item.
    fn into_item(self) -> Reply;
}

impl<T: Serialize> StreamItem for T {
    fn into_item(self) -> Reply {
        serialize(&self)
    }
}

impl StreamItem for CloseFrame {
    fn into_item(self) -> Reply {
        Reply::Close(self)
    }
}

/// Maps a stream's items to replies (no futures-util needed).
struct Items<S> {
    inner: Pin<Box<S>>,
}

impl<S> futures_core::Stream for Items<S>
where
    S: futures_core::Stream,
    S::Item: StreamItem,
{
    type Item = Reply;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        self.inner
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(StreamItem::into_item))
    }
}

/// Borrows a returned value for the autoref probe (see the module docs).
#[allow(missing_debug_implementations)]
pub struct Ret<'a, T>(pub &'a T);

/// The probe levels: each picks a tag type whose `into_reply` converts the value.
pub mod autoref {
    use super::*;

    /// Level 1.
    pub trait ViaKnown {
        fn __ws_reply_kind(&self) -> KnownTag {
            KnownTag
        }
    }
    impl<T: Known> ViaKnown for &&&&Ret<'_, T> {}

    /// Level 2.
    pub trait ViaResult {
        fn __ws_reply_kind(&self) -> ResultTag {
            ResultTag
        }
    }
    impl<T: Serialize, E> ViaResult for &&&Ret<'_, Result<T, E>> {}

    /// Level 3.
    pub trait ViaOption {
        fn __ws_reply_kind(&self) -> OptionTag {
            OptionTag
        }
    }
    impl<T: Serialize> ViaOption for &&Ret<'_, Option<T>> {}

    /// Level 4.
    pub trait ViaStream {
        fn __ws_reply_kind(&self) -> StreamTag {
            StreamTag
        }
    }
    impl<S: futures_core::Stream> ViaStream for &Ret<'_, S> {}

    /// Level 5, always applicable: reports unsupported types.
    pub trait ViaSerialize {
        fn __ws_reply_kind(&self) -> SerializeTag {
            SerializeTag
        }
    }
    impl<T> ViaSerialize for Ret<'_, T> {}
}

/// Converts a [`Known`] value.
#[derive(Debug)]
pub struct KnownTag;
/// Converts a `Result` of a `Serialize` value.
#[derive(Debug)]
pub struct ResultTag;
/// Converts an `Option` of a `Serialize` value.
#[derive(Debug)]
pub struct OptionTag;
/// Converts a stream.
#[derive(Debug)]
pub struct StreamTag;
/// Converts any `Serialize` value.
#[derive(Debug)]
pub struct SerializeTag;

impl KnownTag {
    pub fn into_reply<K, T: KnownReply<K>>(self, _: K, value: T) -> Reply {
        value.into_reply()
    }
}

impl ResultTag {
    pub fn into_reply<K: DataAllowed, T: Serialize, E: HandlerError>(
        self,
        _: K,
        value: Result<T, E>,
    ) -> Reply {
        match value {
            Ok(value) => serialize(&value),
            Err(error) => Reply::Error(error.into_error()),
        }
    }
}

impl OptionTag {
    pub fn into_reply<K: DataAllowed, T: Serialize>(self, _: K, value: Option<T>) -> Reply {
        match value {
            Some(value) => serialize(&value),
            None => Reply::None,
        }
    }
}

impl StreamTag {
    pub fn into_reply<K: DataAllowed, S>(self, _: K, stream: S) -> Reply
    where
        S: futures_core::Stream + Send + 'static,
        S::Item: StreamItem,
    {
        Reply::Stream(Box::pin(Items {
            inner: Box::pin(stream),
        }))
    }
}

impl SerializeTag {
    pub fn into_reply<K, T: SerializeReply<K>>(self, _: K, value: T) -> Reply {
        value.into_reply()
    }
}

// ---------------------------------------------------------------------------------------------
// Handler parameters
// ---------------------------------------------------------------------------------------------

/// The `&Caller` parameter.
#[diagnostic::on_unimplemented(
    message = "a handler cannot take `{Self}`",
    label = "not a parameter a handler can receive",
    note = "a handler takes `&self` or `&mut self`, an optional `&Caller`, an optional `#[state]` parameter, and the message by value (`String`, not `&str`; `Vec<u8>`, not `&[u8]`)"
)]
pub trait CallerArg<'a> {
    /// Binds the parameter.
    fn from_caller(caller: &'a Caller) -> Self;
}

impl<'a> CallerArg<'a> for &'a Caller {
    fn from_caller(caller: &'a Caller) -> Self {
        caller
    }
}

/// Binds a `&Caller` parameter.
pub fn caller<'a, T: CallerArg<'a>>(caller: &'a Caller) -> T {
    T::from_caller(caller)
}

/// A `#[state]` parameter of a service whose state is `S`.
#[diagnostic::on_unimplemented(
    message = "a `#[state]` parameter cannot be `{Self}` when the service's state is `{S}`",
    label = "not the service's state",
    note = "take the state as `&{S}` or `Arc<{S}>`, or change `state = ...` in `#[ws_service(..)]`"
)]
pub trait StateArg<'a, S> {
    /// Binds the parameter.
    fn from_state(state: &'a Arc<S>) -> Self;
}

impl<'a, S> StateArg<'a, S> for &'a S {
    fn from_state(state: &'a Arc<S>) -> Self {
        state
    }
}

impl<'a, S> StateArg<'a, S> for Arc<S> {
    fn from_state(state: &'a Arc<S>) -> Self {
        Arc::clone(state)
    }
}

/// Binds a `#[state]` parameter.
pub fn state<'a, S, T: StateArg<'a, S>>(state: &'a Arc<S>) -> T {
    T::from_state(state)
}

/// A text payload (`#[on_text]`, dispatch handlers).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound from a text message",
    label = "the message is bound to this type",
    note = "a text message binds to `String` (raw) or to any type implementing `serde::de::DeserializeOwned` (from JSON); for a type of your own, add `#[derive(serde::Deserialize)]`",
    note = "the connection is taken as `&Caller`, the shared state with `#[state]`"
)]
pub trait TextPayload: Sized {
    /// Binds the text.
    fn from_text(text: Utf8Bytes) -> Result<Self, Error>;
}

impl<T: DeserializeOwned + 'static> TextPayload for T {
    fn from_text(text: Utf8Bytes) -> Result<Self, Error> {
        // `Utf8Bytes` itself is handed over as it is: no copy, not even a clone.
        match same_type::<Utf8Bytes, T>(text) {
            Ok(same) => Ok(same),
            Err(text) => binding::from_text(&text),
        }
    }
}

/// `value` as a `T` when `T` is `V`; `Err(value)` otherwise.
fn same_type<V: 'static, T: 'static>(value: V) -> std::result::Result<T, V> {
    if std::any::TypeId::of::<V>() != std::any::TypeId::of::<T>() {
        return Err(value);
    }
    let value = std::mem::ManuallyDrop::new(value);
    // SAFETY: `V` and `T` are the same type (equal `TypeId`s), and the value is moved out
    // exactly once (ManuallyDrop keeps it from being dropped here).
    Ok(unsafe { std::mem::transmute_copy::<V, T>(&value) })
}

/// A binary payload (`#[on_binary]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound from a binary message",
    label = "the message is bound to this type",
    note = "a binary message binds to `Vec<u8>` or `Bytes` (raw) or to any type implementing `serde::de::DeserializeOwned` (from UTF-8 JSON); for a type of your own, add `#[derive(serde::Deserialize)]`",
    note = "the connection is taken as `&Caller`, the shared state with `#[state]`"
)]
pub trait BinaryPayload: Sized {
    /// Binds the bytes.
    fn from_binary(bytes: Bytes) -> Result<Self, Error>;
}

impl<T: DeserializeOwned + 'static> BinaryPayload for T {
    fn from_binary(bytes: Bytes) -> Result<Self, Error> {
        // `Bytes` itself is handed over as it is.
        match same_type::<Bytes, T>(bytes) {
            Ok(same) => Ok(same),
            Err(bytes) => binding::from_binary(&bytes),
        }
    }
}

/// A payload of `#[on_message]`, bound from text or binary.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound from a message",
    label = "the message is bound to this type",
    note = "`#[on_message]` binds text and binary messages to any type implementing `serde::de::DeserializeOwned` (`String` and `Vec<u8>` raw, anything else from JSON); for a type of your own, add `#[derive(serde::Deserialize)]`",
    note = "the connection is taken as `&Caller`, the shared state with `#[state]`"
)]
pub trait MessagePayload: TextPayload + BinaryPayload {}

impl<T: TextPayload + BinaryPayload> MessagePayload for T {}

/// Binds the payload of `#[on_text]` or a dispatch handler.
pub fn bind_text<T: TextPayload>(text: Utf8Bytes) -> Result<T, Error> {
    T::from_text(text)
}

/// Binds the payload of `#[on_binary]`.
pub fn bind_binary<T: BinaryPayload>(bytes: Bytes) -> Result<T, Error> {
    T::from_binary(bytes)
}

/// Binds the payload of `#[on_message]` from text.
pub fn bind_message_text<T: MessagePayload>(text: Utf8Bytes) -> Result<T, Error> {
    T::from_text(text)
}

/// Binds the payload of `#[on_message]` from binary.
pub fn bind_message_binary<T: MessagePayload>(bytes: Bytes) -> Result<T, Error> {
    T::from_binary(bytes)
}

/// The payload of a ping or pong.
#[diagnostic::on_unimplemented(
    message = "a ping or pong payload cannot be bound to `{Self}`",
    label = "the payload is bound to this type",
    note = "take the payload as `Vec<u8>` or `Bytes`"
)]
pub trait ControlPayload {
    /// Binds the payload.
    fn from_payload(bytes: Bytes) -> Self;
}

impl ControlPayload for Bytes {
    fn from_payload(bytes: Bytes) -> Self {
        bytes
    }
}

impl ControlPayload for Vec<u8> {
    fn from_payload(bytes: Bytes) -> Self {
        bytes.into()
    }
}

/// Binds the payload of `#[on_ping]` / `#[on_pong]`.
pub fn control_payload<T: ControlPayload>(bytes: Bytes) -> T {
    T::from_payload(bytes)
}

/// A value parameter of `#[on_close]`.
#[diagnostic::on_unimplemented(
    message = "an `on_close` handler cannot take `{Self}`",
    label = "neither the close code nor the reason",
    note = "`#[on_close]` takes the code as `CloseCode` or `u16` and the reason as `String`, each optional, in any order"
)]
pub trait CloseArg {
    /// Binds the parameter.
    fn from_close(code: CloseCode, reason: &str) -> Self;
}

impl CloseArg for CloseCode {
    fn from_close(code: CloseCode, _: &str) -> Self {
        code
    }
}

impl CloseArg for u16 {
    fn from_close(code: CloseCode, _: &str) -> Self {
        code.as_u16()
    }
}

impl CloseArg for String {
    fn from_close(_: CloseCode, reason: &str) -> Self {
        reason.to_owned()
    }
}

/// Binds a value parameter of `#[on_close]`.
pub fn close_arg<T: CloseArg>(code: CloseCode, reason: &str) -> T {
    T::from_close(code, reason)
}

/// The error parameter of `#[on_error]` and of binding error handlers.
#[diagnostic::on_unimplemented(
    message = "an error handler cannot take `{Self}`",
    label = "the error is bound to this type",
    note = "take the error as `ws_framework::Error`"
)]
pub trait ErrorArg {
    /// Binds the parameter.
    fn from_error(error: Error) -> Self;
}

impl ErrorArg for Error {
    fn from_error(error: Error) -> Self {
        error
    }
}

/// Binds the error parameter.
pub fn error_arg<T: ErrorArg>(error: Error) -> T {
    T::from_error(error)
}

/// A payload failed to bind and no handler takes the error: close 1003.
pub fn binding_failed(error: Error) -> Reply {
    match error {
        Error::PayloadBinding(message) => Reply::BindingFailed(message),
        other => Reply::BindingFailed(other.to_string()),
    }
}

/// The defaults for events the service does not handle: a ping is answered with a pong of the
/// same payload; anything else is dropped (Ballerina: a frame without a handler is ignored).
pub fn unhandled(event: Event) -> Reply {
    match event {
        Event::Ping(payload) => Reply::Pong(payload),
        _ => Reply::None,
    }
}

/// The dispatcher value of a text message (Ballerina section 1.8): present when the text is a
/// JSON object whose `key` field is a string.
#[derive(Debug)]
pub struct DispatchKey {
    value: String,
    name: String,
}

impl DispatchKey {
    /// Reads the dispatcher value of `text`.
    pub fn of(text: &str, key: &str) -> Option<Self> {
        let serde_json::Value::Object(mut object) = serde_json::from_str(text).ok()? else {
            return None;
        };
        match object.remove(key)? {
            serde_json::Value::String(value) => {
                let name = snake_case(&value);
                Some(Self { value, name })
            }
            _ => None,
        }
    }

    /// The value as sent; explicit handlers (`#[on_dispatch("value")]`) match it exactly.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The value in snake_case; a conventional handler `on_<name>` matches it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Ballerina's naming rule in snake_case (the same function as in ws-macros' `validate.rs`):
/// split on every run of characters that are not ASCII letters or digits, lower-case, join
/// with `_`.
pub fn snake_case(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

// ---------------------------------------------------------------------------------------------
// The upgrade
// ---------------------------------------------------------------------------------------------

/// What `#[on_upgrade]` returns: `Self`, or `Result<Self, E>` with `E: Into<UpgradeError>`.
#[diagnostic::on_unimplemented(
    message = "`#[on_upgrade]` must return `{S}` or `Result<{S}, E>`, not `{Self}`",
    label = "the upgrade's outcome",
    note = "return the connection's value (`Self`) to accept, or `Err(e)` to refuse, where `E: Into<UpgradeError>` (`UpgradeError::forbidden(..)`, a `String` for 400 Bad Request, ...)"
)]
pub trait UpgradeOutcome<S> {
    /// Accepts or refuses.
    fn into_outcome(self) -> Result<S, UpgradeError>;
}

impl<S> UpgradeOutcome<S> for S {
    fn into_outcome(self) -> Result<S, UpgradeError> {
        Ok(self)
    }
}

impl<S, E: Into<UpgradeError>> UpgradeOutcome<S> for Result<S, E> {
    fn into_outcome(self) -> Result<S, UpgradeError> {
        self.map_err(Into::into)
    }
}

/// Converts what `#[on_upgrade]` returned.
pub fn accept<S, T: UpgradeOutcome<S>>(outcome: T) -> Result<S, UpgradeError> {
    outcome.into_outcome()
}

/// A service without `#[on_upgrade]` is created by `Default`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[on_upgrade]` method and does not implement `Default`",
    label = "cannot create a connection's value",
    note = "add `#[derive(Default)]` to `{Self}`, or mark an `async fn` returning `Self` with `#[on_upgrade]`"
)]
pub trait DefaultService: Sized {
    /// The connection's value.
    fn create() -> Self;
}

impl<T: Default> DefaultService for T {
    fn create() -> Self {
        T::default()
    }
}

/// The upgrade of a service without `#[on_upgrade]`.
pub fn default_service<S: DefaultService>() -> Result<S, UpgradeError> {
    Ok(S::create())
}

/// The `&UpgradeRequest` / `&mut UpgradeRequest` parameter of `#[on_upgrade]`.
#[diagnostic::on_unimplemented(
    message = "`#[on_upgrade]` cannot take `{Self}`",
    label = "not the upgrade request",
    note = "`#[on_upgrade]` takes the request as `&UpgradeRequest` or `&mut UpgradeRequest`, path and query parameters by value (`String`, `u32`, `Option<String>`, ...), `#[header]` parameters and `#[state]`"
)]
pub trait RequestArg<'a> {
    /// Binds the parameter.
    fn from_request(request: &'a mut UpgradeRequest) -> Self;
}

impl<'a> RequestArg<'a> for &'a UpgradeRequest {
    fn from_request(request: &'a mut UpgradeRequest) -> Self {
        request
    }
}

impl<'a> RequestArg<'a> for &'a mut UpgradeRequest {
    fn from_request(request: &'a mut UpgradeRequest) -> Self {
        request
    }
}

/// Binds the request parameter.
pub fn request<'a, T: RequestArg<'a>>(request: &'a mut UpgradeRequest) -> T {
    T::from_request(request)
}

/// A scalar path or query parameter, parsed with `FromStr` (Ballerina: string, int, float,
/// boolean).
#[diagnostic::on_unimplemented(
    message = "a path or query parameter cannot be `{Self}`",
    label = "parsed from the URL",
    note = "path and query parameters are `String`, `bool`, `char`, an integer or a float; a query parameter may also be `Option<T>` (absent: `None`) or `Vec<T>` (every value)"
)]
pub trait ParamValue: Sized {
    /// Parses one value.
    fn parse_value(text: &str) -> Option<Self>;
}

macro_rules! param_values {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn parse_value(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
    )*};
}

param_values!(
    String, bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

/// Binds a path parameter; a value that does not parse is 404 (no such resource), as in
/// Ballerina.
pub fn path_param<T: ParamValue>(request: &UpgradeRequest, name: &str) -> Result<T, UpgradeError> {
    request
        .path_param(name)
        .and_then(T::parse_value)
        .ok_or_else(|| {
            UpgradeError::not_found(format!("no resource found for path {}", request.path()))
        })
}

/// A query parameter: a [`ParamValue`], an `Option` of one, or a `Vec` of them.
#[diagnostic::on_unimplemented(
    message = "a query parameter cannot be `{Self}`",
    label = "bound from the query string by the parameter's name",
    note = "query parameters are `String`, `bool`, `char`, an integer or a float, or an `Option` (absent: `None`) or `Vec` (every value) of one; take `&UpgradeRequest` to read the request yourself"
)]
pub trait QueryParam: Sized {
    /// Binds from all values of the parameter, in order.
    fn from_values(name: &str, values: Vec<String>) -> Result<Self, UpgradeError>;
}

fn parse_query<T: ParamValue>(name: &str, value: &str) -> Result<T, UpgradeError> {
    T::parse_value(value).ok_or_else(|| {
        UpgradeError::bad_request(format!("invalid value for query param {name}: {value}"))
    })
}

impl<T: ParamValue> QueryParam for T {
    fn from_values(name: &str, values: Vec<String>) -> Result<Self, UpgradeError> {
        match values.first() {
            Some(value) => parse_query(name, value),
            None => Err(UpgradeError::bad_request(format!(
                "no query param value found for: {name}"
            ))),
        }
    }
}

impl<T: ParamValue> QueryParam for Option<T> {
    fn from_values(name: &str, values: Vec<String>) -> Result<Self, UpgradeError> {
        values.first().map(|v| parse_query(name, v)).transpose()
    }
}

impl<T: ParamValue> QueryParam for Vec<T> {
    fn from_values(name: &str, values: Vec<String>) -> Result<Self, UpgradeError> {
        values.iter().map(|v| parse_query(name, v)).collect()
    }
}

/// Binds a query parameter: missing (and not `Option`) or unparsable is 400.
pub fn query_param<T: QueryParam>(request: &UpgradeRequest, name: &str) -> Result<T, UpgradeError> {
    T::from_values(name, request.query_all(name))
}

/// A `#[header]` parameter.
#[diagnostic::on_unimplemented(
    message = "a `#[header]` parameter cannot be `{Self}`",
    label = "bound from a request header",
    note = "`#[header]` parameters are `String` (required), `Option<String>` or `Vec<String>` (every value)"
)]
pub trait HeaderParam: Sized {
    /// Binds from all values of the header that are valid UTF-8.
    fn from_values(name: &str, values: Vec<&str>) -> Result<Self, UpgradeError>;
}

impl HeaderParam for String {
    fn from_values(name: &str, values: Vec<&str>) -> Result<Self, UpgradeError> {
        values
            .first()
            .map(|v| (*v).to_owned())
            .ok_or_else(|| UpgradeError::bad_request(format!("no header value found for: {name}")))
    }
}

impl HeaderParam for Option<String> {
    fn from_values(_: &str, values: Vec<&str>) -> Result<Self, UpgradeError> {
        Ok(values.first().map(|v| (*v).to_owned()))
    }
}

impl HeaderParam for Vec<String> {
    fn from_values(_: &str, values: Vec<&str>) -> Result<Self, UpgradeError> {
        Ok(values.into_iter().map(str::to_owned).collect())
    }
}

/// Binds a `#[header]` parameter: missing (and not `Option`/`Vec`) is 400.
pub fn header_param<T: HeaderParam>(
    request: &UpgradeRequest,
    name: &str,
) -> Result<T, UpgradeError> {
    T::from_values(name, request.header_all(name))
}

#[cfg(test)]
mod tests {
    use super::autoref::*;
    use super::*;

    fn show(reply: Reply) -> String {
        format!("{reply:?}")
    }

    #[test]
    // The probe needs exactly the borrows the macro writes: with fewer, another level is picked.
    #[allow(clippy::needless_borrow)]
    fn return_values_become_replies() {
        let v = ();
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "None"
        );
        let v = String::from("hi");
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "Text(\"hi\")"
        );
        let v = vec![1u8, 2];
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "Binary(b\"\\x01\\x02\")"
        );
        let v = vec![1u8, 2];
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_ping, v)
            ),
            "Pong(b\"\\x01\\x02\")"
        );
        let v = CloseFrame::new(1000, "bye");
        assert!(show(
            (&&&&&Ret(&v))
                .__ws_reply_kind()
                .into_reply(kind::on_idle_timeout, v)
        )
        .starts_with("Close("));
        let v = serde_json::json!({"a": 1});
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "Text(\"{\\\"a\\\":1}\")"
        );
        let v: Result<serde_json::Value, String> = Ok(serde_json::json!(5));
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "Text(\"5\")"
        );
        let v: Result<(), String> = Err("nope".into());
        assert!(show(
            (&&&&&Ret(&v))
                .__ws_reply_kind()
                .into_reply(kind::on_close, v)
        )
        .starts_with("Error(Handler("));
        let v: Option<u32> = None;
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_text, v)
            ),
            "None"
        );
        let v: Option<CloseFrame> = None;
        assert_eq!(
            show(
                (&&&&&Ret(&v))
                    .__ws_reply_kind()
                    .into_reply(kind::on_error, v)
            ),
            "None"
        );
    }

    #[test]
    fn a_returned_framework_error_is_not_wrapped() {
        let error = Error::handler(Error::PayloadBinding("x".into()));
        assert!(matches!(error, Error::PayloadBinding(_)), "{error:?}");
        assert!(matches!(Error::handler("oops"), Error::Handler(_)));
    }

    #[test]
    fn dispatch_keys() {
        let key = DispatchKey::of(r#"{"event":"Connection Init","x":1}"#, "event").unwrap();
        assert_eq!(key.value(), "Connection Init");
        assert_eq!(key.name(), "connection_init");
        assert!(DispatchKey::of(r#"{"event":5}"#, "event").is_none());
        assert!(DispatchKey::of(r#"["event"]"#, "event").is_none());
        assert!(DispatchKey::of("not json", "event").is_none());
        assert!(DispatchKey::of(r#"{"type":"a"}"#, "event").is_none());
    }

    #[test]
    fn snake_case_matches_the_macro() {
        for (value, name) in [
            ("un subscribe", "un_subscribe"),
            ("_ping", "ping"),
            ("subscribeMessage", "subscribemessage"),
        ] {
            assert_eq!(snake_case(value), name);
        }
    }

    #[test]
    fn upgrade_parameters() {
        let (parts, ()) = http::Request::get("/r/7?n=1&n=2&flag=true&bad=x")
            .header("x-token", "t")
            .body(())
            .unwrap()
            .into_parts();
        let req = UpgradeRequest::new(
            parts,
            vec![("id".into(), "7".into()), ("s".into(), "x".into())],
            "127.0.0.1:1".parse().unwrap(),
            false,
        );
        assert_eq!(path_param::<u32>(&req, "id").unwrap(), 7);
        assert_eq!(
            path_param::<u32>(&req, "s").unwrap_err().status(),
            http::StatusCode::NOT_FOUND
        );
        assert_eq!(query_param::<Vec<u8>>(&req, "n").unwrap(), [1, 2]);
        assert!(query_param::<bool>(&req, "flag").unwrap());
        assert_eq!(query_param::<Option<String>>(&req, "none").unwrap(), None);
        let missing = query_param::<String>(&req, "none").unwrap_err();
        assert_eq!(
            (missing.status(), missing.message()),
            (
                http::StatusCode::BAD_REQUEST,
                "no query param value found for: none"
            )
        );
        assert_eq!(
            query_param::<u8>(&req, "bad").unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(header_param::<String>(&req, "x-token").unwrap(), "t");
        assert_eq!(
            header_param::<Option<String>>(&req, "x-none").unwrap(),
            None
        );
        assert_eq!(
            header_param::<String>(&req, "x-none").unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
    }
}
