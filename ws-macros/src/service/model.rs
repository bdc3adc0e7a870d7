//! The impl block read into handlers. Nothing here judges meaning (that is `validate`); the
//! model keeps what a later error may need to point at.

use crate::diag::Errors;
use crate::marker::EXPANDED;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ImplItem, ItemImpl, LitStr, Meta, Pat, Signature, Token, Type};

/// What a method handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Upgrade,
    Open,
    Text,
    Binary,
    Message,
    Ping,
    Pong,
    Close,
    Error,
    IdleTimeout,
    Dispatch,
    /// A method named by `error = method`: receives a payload that failed to bind.
    ErrorHandler,
}

impl Kind {
    /// The markers, by name.
    pub const MARKERS: [(&'static str, Kind); 11] = [
        ("on_upgrade", Kind::Upgrade),
        ("on_open", Kind::Open),
        ("on_text", Kind::Text),
        ("on_binary", Kind::Binary),
        ("on_message", Kind::Message),
        ("on_ping", Kind::Ping),
        ("on_pong", Kind::Pong),
        ("on_close", Kind::Close),
        ("on_error", Kind::Error),
        ("on_idle_timeout", Kind::IdleTimeout),
        ("on_dispatch", Kind::Dispatch),
    ];

    /// The marker's name; for the error-handler role, the name used in diagnostics and in
    /// `__private::kind`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ErrorHandler => "error_handler",
            _ => Self::MARKERS
                .iter()
                .find(|(_, k)| *k == self)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
        }
    }

    /// How diagnostics refer to a handler of this kind.
    pub fn describe(self) -> String {
        match self {
            Kind::ErrorHandler => "a binding error handler (named by `error = ...`)".to_owned(),
            _ => format!("`#[{}]`", self.name()),
        }
    }

    /// Whether the handler receives a payload that may fail to bind.
    pub fn binds_payload(self) -> bool {
        matches!(
            self,
            Kind::Text | Kind::Binary | Kind::Message | Kind::Dispatch
        )
    }
}

/// A marker attribute as written.
#[derive(Clone)]
pub struct Marker {
    pub kind: Kind,
    /// The attribute's path (`on_text` or `ws_framework::on_text`): errors about the marker
    /// point here.
    pub path: syn::Path,
    /// `#[on_dispatch("value")]`.
    pub value: Option<LitStr>,
    /// `error = method`.
    pub error: Option<Ident>,
}

/// The receiver of a method.
#[derive(Clone, Copy, Debug)]
pub enum Receiver {
    None,
    Ref,
    RefMut,
    /// `self`, `mut self` or a typed `self: ...`.
    Other(Span),
}

/// How a parameter is bound.
#[derive(Clone, Debug)]
pub enum Role {
    /// `#[state]`: the state shared by all connections.
    State,
    /// `#[header]` / `#[header("name")]` (on_upgrade only).
    Header(Option<LitStr>),
    /// A reference: the `&Caller` in handlers, the `&UpgradeRequest` in on_upgrade.
    Context,
    /// An owned value: the payload (or code, reason, error; query and path parameters in
    /// on_upgrade).
    Owned,
}

#[derive(Clone)]
pub struct Param {
    pub name: Option<Ident>,
    pub ty: Type,
    pub role: Role,
    /// The whole parameter, `name: Type`.
    pub tokens: TokenStream,
    /// The `#[state]` / `#[header]` attribute, when one was given.
    pub attr: Option<TokenStream>,
}

/// How a dispatch handler is reached.
#[derive(Clone)]
pub enum Route {
    /// `#[on_dispatch("value")]`.
    Explicit(LitStr),
    /// `#[on_dispatch]` on `on_<value>`.
    Conventional(String),
}

#[derive(Clone)]
pub struct Handler {
    pub kind: Kind,
    pub ident: Ident,
    /// `None` for the error-handler role of a method without a marker.
    pub marker: Option<Marker>,
    pub sig: Signature,
    pub receiver: Receiver,
    pub params: Vec<Param>,
    /// Position of the method in the block.
    pub order: usize,
}

impl Handler {
    pub fn error_handler(&self) -> Option<&Ident> {
        self.marker.as_ref().and_then(|m| m.error.as_ref())
    }

    pub fn payload(&self) -> Option<&Param> {
        self.params.iter().find(|p| matches!(p.role, Role::Owned))
    }

    /// The span to blame for the return value: the return type, else the method's name.
    pub fn return_span(&self) -> Span {
        match &self.sig.output {
            syn::ReturnType::Type(_, ty) => ty.span(),
            syn::ReturnType::Default => self.ident.span(),
        }
    }

    /// Where diagnostics about the marker point: the marker, else the method's name.
    pub fn marker_tokens(&self) -> TokenStream {
        match &self.marker {
            Some(m) => m.path.to_token_stream(),
            None => self.ident.to_token_stream(),
        }
    }
}

/// Reads the handlers of `item`, rewriting each marker to `#[marker(__ws_expanded)]` and
/// removing `#[state]` / `#[header]` from the parameters of the methods the macro binds.
pub fn collect(item: &mut ItemImpl, errors: &mut Errors) -> Vec<Handler> {
    let mut handlers = Vec::new();
    let mut markers_of: Vec<(usize, Marker)> = Vec::new();
    for (order, impl_item) in item.items.iter_mut().enumerate() {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let mut first: Option<syn::Path> = None;
        for attr in &mut method.attrs {
            let Some(kind) = marker_kind(attr) else {
                continue;
            };
            let path = attr.path().clone();
            let marker = parse_marker(kind, attr, errors);
            rewrite_marker(attr);
            match &first {
                Some(prev) => errors.spanned(
                    &path,
                    format!(
                        "`{}` already has `#[{}]`; a method handles one kind of event: move this one to a method of its own",
                        method.sig.ident,
                        last_segment(prev),
                    ),
                ),
                None => {
                    first = Some(path);
                    if let Some(marker) = marker {
                        markers_of.push((order, marker));
                    }
                }
            }
        }
    }
    // Methods named by `error = ...` are bound too.
    let error_handlers: Vec<Ident> = markers_of
        .iter()
        .filter_map(|(_, m)| m.error.clone())
        .collect();
    for (order, impl_item) in item.items.iter_mut().enumerate() {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let marker = markers_of
            .iter()
            .find(|(o, _)| *o == order)
            .map(|(_, m)| m.clone());
        let is_error_handler = error_handlers.contains(&method.sig.ident);
        if marker.is_none() && !is_error_handler {
            continue;
        }
        let (receiver, params) = read_signature(&mut method.sig, errors);
        let ident = method.sig.ident.clone();
        let sig = method.sig.clone();
        if let Some(marker) = marker {
            handlers.push(Handler {
                kind: marker.kind,
                ident: ident.clone(),
                marker: Some(marker),
                sig: sig.clone(),
                receiver,
                params: params.clone(),
                order,
            });
        }
        if is_error_handler {
            handlers.push(Handler {
                kind: Kind::ErrorHandler,
                ident,
                marker: None,
                sig,
                receiver,
                params,
                order,
            });
        }
    }
    handlers
}

fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn marker_kind(attr: &Attribute) -> Option<Kind> {
    let name = attr.path().segments.last()?.ident.to_string();
    Kind::MARKERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}

/// The arguments a marker may take.
struct MarkerArgs {
    value: Option<LitStr>,
    error: Option<Ident>,
}

fn parse_marker(kind: Kind, attr: &Attribute, errors: &mut Errors) -> Option<Marker> {
    let path = attr.path().clone();
    let name = kind.name();
    let args = match &attr.meta {
        Meta::Path(_) => MarkerArgs {
            value: None,
            error: None,
        },
        Meta::List(list) => {
            let takes_value = kind == Kind::Dispatch;
            let takes_error = kind.binds_payload();
            if !takes_value && !takes_error {
                errors.spanned(
                    &list.tokens,
                    format!("`#[{name}]` takes no arguments; write `#[{name}]`"),
                );
                return Some(Marker {
                    kind,
                    path,
                    value: None,
                    error: None,
                });
            }
            let parser = |input: ParseStream<'_>| parse_marker_args(input, kind);
            match syn::parse::Parser::parse2(parser, list.tokens.clone()) {
                Ok(args) => args,
                Err(e) => {
                    errors.push(e);
                    MarkerArgs {
                        value: None,
                        error: None,
                    }
                }
            }
        }
        Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                format!("write the arguments in parentheses: {}", usage(kind)),
            );
            MarkerArgs {
                value: None,
                error: None,
            }
        }
    };
    Some(Marker {
        kind,
        path,
        value: args.value,
        error: args.error,
    })
}

fn usage(kind: Kind) -> String {
    match kind {
        Kind::Dispatch => "`#[on_dispatch]`, `#[on_dispatch(\"value\")]`, `#[on_dispatch(\"value\", error = method)]`".to_owned(),
        _ if kind.binds_payload() => format!("`#[{0}]` or `#[{0}(error = method)]`", kind.name()),
        _ => format!("`#[{}]`", kind.name()),
    }
}

fn parse_marker_args(input: ParseStream<'_>, kind: Kind) -> syn::Result<MarkerArgs> {
    let mut args = MarkerArgs {
        value: None,
        error: None,
    };
    if kind == Kind::Dispatch && input.peek(LitStr) {
        args.value = Some(input.parse()?);
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    while !input.is_empty() {
        let key: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("expected {}", usage(kind))))?;
        if key != "error" {
            let what = if kind == Kind::Dispatch {
                "the dispatcher value and `error = method`"
            } else {
                "`error = method`"
            };
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown argument `{key}` of `#[{}]`; it takes {what}",
                    kind.name()
                ),
            ));
        }
        if args.error.is_some() {
            return Err(syn::Error::new(
                key.span(),
                "`error` is given twice; keep one",
            ));
        }
        input.parse::<Token![=]>()?;
        args.error = Some(input.parse().map_err(|e| {
            syn::Error::new(e.span(), "`error = ...` names a method of this impl block, as in `error = on_subscribe_error`")
        })?);
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(args)
}

fn rewrite_marker(attr: &mut Attribute) {
    let path = attr.path().clone();
    let expanded = Ident::new(EXPANDED, Span::call_site());
    attr.meta = Meta::List(syn::MetaList {
        path,
        delimiter: syn::MacroDelimiter::Paren(Default::default()),
        tokens: quote!(#expanded),
    });
}

/// The receiver and parameters; removes the parameter attributes the macro consumes.
fn read_signature(sig: &mut Signature, errors: &mut Errors) -> (Receiver, Vec<Param>) {
    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    for input in &mut sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                receiver = match (&r.reference, r.mutability, r.colon_token) {
                    (Some(_), None, None) => Receiver::Ref,
                    (Some(_), Some(_), None) => Receiver::RefMut,
                    _ => Receiver::Other(r.span()),
                };
            }
            FnArg::Typed(pt) => {
                let mut role = None;
                let mut attr_tokens = None;
                let mut keep = Vec::new();
                for attr in pt.attrs.drain(..) {
                    let which = attr.path().get_ident().map(ToString::to_string);
                    let new_role = match which.as_deref() {
                        Some("state") => {
                            if let Err(e) = attr.meta.require_path_only() {
                                errors.push(syn::Error::new(
                                    e.span(),
                                    "`#[state]` takes no arguments",
                                ));
                            }
                            Role::State
                        }
                        Some("header") => match &attr.meta {
                            Meta::Path(_) => Role::Header(None),
                            _ => match attr.parse_args::<LitStr>() {
                                Ok(name) => Role::Header(Some(name)),
                                Err(_) => {
                                    errors.spanned(&attr, "write `#[header]` (the parameter's name, `_` read as `-`) or `#[header(\"x-name\")]`");
                                    Role::Header(None)
                                }
                            },
                        },
                        _ => {
                            keep.push(attr);
                            continue;
                        }
                    };
                    if role.is_some() {
                        errors
                            .spanned(&attr, "a parameter takes one of `#[state]` and `#[header]`");
                    }
                    role = Some(new_role);
                    attr_tokens = Some(attr.to_token_stream());
                }
                pt.attrs = keep;
                let role = role.unwrap_or_else(|| match strip_parens(&pt.ty) {
                    Type::Reference(_) => Role::Context,
                    _ => Role::Owned,
                });
                let name = match &*pt.pat {
                    Pat::Ident(p) => Some(p.ident.clone()),
                    _ => None,
                };
                params.push(Param {
                    name,
                    ty: (*pt.ty).clone(),
                    role,
                    tokens: pt.to_token_stream(),
                    attr: attr_tokens,
                });
            }
        }
    }
    (receiver, params)
}

fn strip_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => strip_parens(&p.elem),
        Type::Group(g) => strip_parens(&g.elem),
        other => other,
    }
}
