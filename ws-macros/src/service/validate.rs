//! Meaning checks over the model, each error on the smallest token to blame and saying what to
//! write instead. Every check runs; nothing stops at the first error.

use super::args::ServiceArgs;
use super::model::{Handler, Kind, Receiver, Role, Route};
use crate::diag::Errors;
use proc_macro2::Ident;
use syn::{GenericParam, ItemImpl};

/// The parameters each kind takes, for messages.
fn takes(kind: Kind) -> &'static str {
    match kind {
        Kind::Upgrade => "the request (`&UpgradeRequest` or `&mut UpgradeRequest`), path parameters and query parameters by name, `#[header]` parameters and `#[state]`",
        Kind::Open | Kind::IdleTimeout => "an optional `&Caller` and an optional `#[state]`",
        Kind::Text => "an optional `&Caller`, an optional `#[state]` and the message: `String` or any `Deserialize` type (from JSON)",
        Kind::Binary => "an optional `&Caller`, an optional `#[state]` and the message: `Vec<u8>`, `Bytes` or any `Deserialize` type (from UTF-8 JSON)",
        Kind::Message => "an optional `&Caller`, an optional `#[state]` and the message: any `Deserialize` type, bound from text or binary",
        Kind::Dispatch => "an optional `&Caller`, an optional `#[state]` and an optional message: any `Deserialize` type",
        Kind::Ping | Kind::Pong => "an optional `&Caller`, an optional `#[state]` and an optional payload: `Vec<u8>` or `Bytes`",
        Kind::Close => "an optional `&Caller`, an optional `#[state]`, the close code (`CloseCode` or `u16`) and the reason (`String`), each optional",
        Kind::Error | Kind::ErrorHandler => "an optional `&Caller`, an optional `#[state]` and the error (`ws_framework::Error`)",
    }
}

/// (min, max) owned parameters.
fn owned_range(kind: Kind) -> (usize, usize) {
    match kind {
        Kind::Upgrade => (0, usize::MAX),
        Kind::Open | Kind::IdleTimeout => (0, 0),
        Kind::Text | Kind::Binary | Kind::Message => (1, 1),
        Kind::Close => (0, 2),
        Kind::Dispatch | Kind::Ping | Kind::Pong | Kind::Error | Kind::ErrorHandler => (0, 1),
    }
}

fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::Binary => "data: Vec<u8>",
        Kind::Message => "message: MyType",
        _ => "text: String",
    }
}

/// What a kind handles, for duplicate errors.
fn handles(kind: Kind) -> &'static str {
    match kind {
        Kind::Upgrade => "the upgrade",
        Kind::Open => "the opening of a connection",
        Kind::Text => "text messages",
        Kind::Binary => "binary messages",
        Kind::Message => "messages",
        Kind::Ping => "pings",
        Kind::Pong => "pongs",
        Kind::Close => "the peer's close",
        Kind::Error => "errors",
        Kind::IdleTimeout => "idle timeouts",
        Kind::Dispatch | Kind::ErrorHandler => "",
    }
}

pub fn check_impl(item: &ItemImpl, errors: &mut Errors) {
    if let Some(unsafety) = &item.unsafety {
        errors.spanned(
            unsafety,
            "`#[ws_service]` goes on a plain `impl` block: remove `unsafe`",
        );
    }
    if let Some((_, trait_, for_)) = &item.trait_ {
        errors.spanned(
            quote::quote!(#trait_ #for_),
            "`#[ws_service]` goes on an inherent `impl` block, as in `impl Chat { .. }`: remove the trait and `for`",
        );
    }
    if !item.generics.params.is_empty() {
        errors.spanned(
            &item.generics,
            "`#[ws_service]` cannot serve a generic type: the runtime creates the service by its concrete type; remove the generic parameters",
        );
    }
}

pub fn check_handlers(
    args: &ServiceArgs,
    handlers: &[Handler],
    methods: &[Ident],
    errors: &mut Errors,
) {
    for handler in handlers {
        // A method that also carries a marker was checked in that role already.
        let marked_elsewhere = handler.kind == Kind::ErrorHandler
            && handlers
                .iter()
                .any(|h| h.kind != Kind::ErrorHandler && h.ident == handler.ident);
        if !marked_elsewhere {
            check_signature(handler, errors);
        }
        check_params(args, handler, errors);
        if let Some(target) = handler.error_handler() {
            if !methods.contains(target) {
                errors.spanned(
                    target,
                    format!("no method `{target}` in this `impl` block; `error = ...` names the `async fn` that receives the payloads `{}` cannot bind", handler.ident),
                );
            }
        }
    }
    check_duplicates(handlers, errors);
    check_dispatch(args, handlers, errors);
}

fn check_signature(handler: &Handler, errors: &mut Errors) {
    let sig = &handler.sig;
    let who = match handler.kind {
        Kind::ErrorHandler => format!("`{}` (named by `error = {}`)", handler.ident, handler.ident),
        kind => format!("{} handler `{}`", kind.describe(), handler.ident),
    };
    if let Some(constness) = &sig.constness {
        errors.spanned(
            constness,
            format!("{who} cannot be `const`: remove `const`"),
        );
    }
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!(
                "{who} must be an `async fn`: write `async fn {}`",
                handler.ident
            ),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(
            unsafety,
            format!("{who} cannot be `unsafe`: remove `unsafe`"),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(
            abi,
            format!("{who} cannot have an ABI: remove `{}`", quote::quote!(#abi)),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("{who} cannot be variadic"));
    }
    for param in &sig.generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            errors.spanned(param, format!("{who} cannot be generic: its parameters are bound by their concrete types; remove `{}`", quote::quote!(#param)));
        }
    }
    match (handler.kind, handler.receiver) {
        (Kind::Upgrade, Receiver::None) => {}
        (Kind::Upgrade, Receiver::Ref | Receiver::RefMut) | (Kind::Upgrade, Receiver::Other(_)) => {
            let receiver = sig.inputs.first();
            errors.spanned(receiver, format!("{who} creates the connection's value, so it takes no `self`: remove it and return `Self` (or `Result<Self, E>`)"));
        }
        (_, Receiver::Ref | Receiver::RefMut) => {}
        (_, Receiver::None) => errors.spanned(
            &sig.ident,
            format!("{who} needs `&self` or `&mut self` as its first parameter (the connection's value)"),
        ),
        (_, Receiver::Other(span)) => errors.at(
            span,
            format!("{who} takes `&self` or `&mut self`: the connection's value stays with the connection"),
        ),
    }
}

fn check_params(args: &ServiceArgs, handler: &Handler, errors: &mut Errors) {
    let kind = handler.kind;
    let who = match kind {
        Kind::ErrorHandler => format!("`{}` (named by `error = {}`)", handler.ident, handler.ident),
        _ => kind.describe(),
    };
    let (min, max) = owned_range(kind);
    let (mut states, mut contexts, mut owned) = (0, 0, 0);
    for param in &handler.params {
        match &param.role {
            Role::State => {
                states += 1;
                if states > 1 {
                    errors.spanned(&param.tokens, format!("{who} takes the shared state once; remove this second `#[state]` parameter"));
                }
            }
            Role::Header(_) if kind != Kind::Upgrade => {
                let attr = param.attr.clone().unwrap_or_else(|| param.tokens.clone());
                errors.spanned(attr, "`#[header]` binds a header of the upgrade request: it goes on a parameter of the `#[on_upgrade]` method");
            }
            Role::Header(_) => {
                if param.name.is_none() {
                    errors.spanned(&param.tokens, "name this parameter (`name: Type`), or give the header's name: `#[header(\"x-name\")]`");
                }
            }
            Role::Context => {
                contexts += 1;
                if contexts > 1 {
                    let what = if kind == Kind::Upgrade {
                        "takes the request once (`&UpgradeRequest` or `&mut UpgradeRequest`)"
                            .to_owned()
                    } else {
                        "takes one reference parameter, the `&Caller`; the message is taken by value (`String`, not `&str`)".to_owned()
                    };
                    errors.spanned(&param.ty, format!("{who} {what}; remove this parameter"));
                }
            }
            Role::Owned => {
                owned += 1;
                if kind == Kind::Upgrade {
                    if param.name.is_none() {
                        errors.spanned(&param.tokens, "name this parameter (`name: Type`): path and query parameters of `#[on_upgrade]` are bound by name");
                    }
                } else if owned > max {
                    let many = match max {
                        0 => "no message parameter".to_owned(),
                        1 => "one value parameter".to_owned(),
                        n => format!("at most {n} value parameters"),
                    };
                    errors.spanned(
                        &param.tokens,
                        format!(
                            "{who} takes {many}; remove this parameter. It takes {}",
                            takes(kind)
                        ),
                    );
                }
            }
        }
    }
    if owned < min {
        let hint = if contexts > 0 {
            " (the message is taken by value: `String`, not `&str`)"
        } else {
            ""
        };
        errors.spanned(
            &handler.sig.ident,
            format!(
                "{who} handler `{}` needs the message: add a parameter such as `{}`{hint}",
                handler.ident,
                example(kind)
            ),
        );
    }
    let _ = args;
}

fn check_duplicates(handlers: &[Handler], errors: &mut Errors) {
    for (i, handler) in handlers.iter().enumerate() {
        if matches!(handler.kind, Kind::Dispatch | Kind::ErrorHandler) {
            continue;
        }
        let earlier = handlers[..i]
            .iter()
            .filter(|h| h.kind == handler.kind)
            .collect::<Vec<_>>();
        if let Some(first) = earlier.first() {
            let marker = handler.kind.describe();
            errors.spanned(
                handler.marker_tokens(),
                format!(
                    "duplicate {marker} handler: `{}` and `{}` both handle {}; keep one",
                    handler.ident,
                    first.ident,
                    handles(handler.kind)
                ),
            );
            if earlier.len() == 1 {
                errors.spanned(
                    first.marker_tokens(),
                    format!(
                        "`{}` is the first {marker} handler; `{}` is another",
                        first.ident, handler.ident
                    ),
                );
            }
        }
    }
    let message = handlers.iter().find(|h| h.kind == Kind::Message);
    if let Some(message) = message {
        for other in handlers
            .iter()
            .filter(|h| matches!(h.kind, Kind::Text | Kind::Binary))
        {
            errors.spanned(
                message.marker_tokens(),
                format!(
                    "`#[on_message]` (`{}`) receives text and binary messages, so it cannot be combined with {} (`{}`): keep `#[on_message]`, or replace it by `#[on_text]` and `#[on_binary]`",
                    message.ident,
                    other.kind.describe(),
                    other.ident
                ),
            );
            errors.spanned(
                other.marker_tokens(),
                format!(
                    "{} (`{}`) conflicts with `#[on_message]` (`{}`)",
                    other.kind.describe(),
                    other.ident,
                    message.ident
                ),
            );
        }
    }
}

/// The name Ballerina's rule gives a dispatcher value, in snake_case: split on every run of
/// characters that are not ASCII letters or digits, lower-case the words, join them with `_`.
/// `"connection_init"`, `"Connection Init"` and `"_connection-init"` all give
/// `connection_init`; `"subscribeMessage"` gives `subscribemessage`.
pub fn snake_case(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// The route of a dispatch handler, or `None` after reporting why it has none.
pub fn route(handler: &Handler) -> Option<Route> {
    let marker = handler.marker.as_ref()?;
    match &marker.value {
        Some(value) => Some(Route::Explicit(value.clone())),
        None => {
            let name = handler.ident.to_string();
            let suffix = name.strip_prefix("on_")?;
            (!suffix.is_empty() && snake_case(suffix) == suffix)
                .then(|| Route::Conventional(suffix.to_owned()))
        }
    }
}

fn check_dispatch(args: &ServiceArgs, handlers: &[Handler], errors: &mut Errors) {
    let dispatchers: Vec<&Handler> = handlers
        .iter()
        .filter(|h| h.kind == Kind::Dispatch)
        .collect();
    let mut explicit: Vec<(String, &Handler)> = Vec::new();
    let mut conventional: Vec<(String, &Handler)> = Vec::new();
    for handler in &dispatchers {
        if args.dispatcher_key.is_none() {
            errors.spanned(
                handler.marker_tokens(),
                "`#[on_dispatch]` needs a dispatcher key: add `dispatcher_key = \"type\"` to `#[ws_service(..)]`, naming the JSON field whose value picks the handler",
            );
        }
        let value = handler.marker.as_ref().and_then(|m| m.value.as_ref());
        match (value, route(handler)) {
            (Some(lit), _) if lit.value().is_empty() => {
                errors.spanned(lit, "the dispatcher value is empty; write the value of the key that selects this handler, as in `#[on_dispatch(\"subscribe\")]`");
            }
            (Some(lit), _) => {
                let v = lit.value();
                if let Some((_, first)) = explicit.iter().find(|(e, _)| *e == v) {
                    errors.spanned(lit, format!("dispatcher value `{v}` is already handled by `{}`; keep one handler per value", first.ident));
                    let first_lit = first.marker.as_ref().and_then(|m| m.value.clone());
                    errors.spanned(
                        first_lit,
                        format!(
                            "`{}` is the first handler of dispatcher value `{v}`",
                            first.ident
                        ),
                    );
                }
                explicit.push((v, handler));
            }
            (None, Some(Route::Conventional(v))) => conventional.push((v, handler)),
            (None, _) => {
                let name = handler.ident.to_string();
                let suggestion = snake_case(name.strip_prefix("on_").unwrap_or(&name));
                errors.spanned(
                    &handler.ident,
                    format!(
                        "`#[on_dispatch]` without a value derives it from the method's name, which must be `on_` and the value in snake_case: rename `{name}` to `on_{suggestion}`, or give the value: `#[on_dispatch(\"{suggestion}\")]`"
                    ),
                );
            }
        }
    }
    // An explicit value whose conventional name is another handler's: the name could never
    // receive that value, which is surely not what was meant (Ballerina's WEBSOCKET_217).
    for (value, handler) in &explicit {
        let snake = snake_case(value);
        if let Some((_, by_name)) = conventional.iter().find(|(c, _)| *c == snake) {
            if by_name.ident == handler.ident {
                continue;
            }
            let lit = handler.marker.as_ref().and_then(|m| m.value.clone());
            errors.spanned(
                lit,
                format!(
                    "dispatcher value `{value}` goes to `{}`, but `{}` is named for it (`#[on_dispatch]` on `on_{snake}`); rename one of them or remove one `#[on_dispatch]`",
                    handler.ident, by_name.ident
                ),
            );
            errors.spanned(
                by_name.marker_tokens(),
                format!("`{}` would handle dispatcher value `{value}` by its name, but `{}` names that value explicitly", by_name.ident, handler.ident),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn ballerina_names_in_snake_case() {
        for (value, name) in [
            ("heartbeat", "heartbeat"),
            ("un subscribe", "un_subscribe"),
            ("connection_init", "connection_init"),
            ("this_ping message", "this_ping_message"),
            ("_ping", "ping"),
            ("Messages", "messages"),
            ("is_closed", "is_closed"),
            (
                "negative_timeout_error_message",
                "negative_timeout_error_message",
            ),
            ("subscribeMessage", "subscribemessage"),
            ("Connection-Init", "connection_init"),
            ("!!", ""),
        ] {
            assert_eq!(snake_case(value), name, "{value}");
        }
    }
}
