//! Code generation: the only stage that calls `quote!`.
//!
//! The output is the user's block (markers rewritten, see `marker.rs`) and one
//! `impl Service for T` whose `handle` is a plain `match` on the event: one arm per handled
//! event in declaration order, then a last arm for the documented defaults. Every runtime path
//! goes through `<crate>::__private`; hidden locals are `__ws_*` with mixed-site hygiene; code
//! whose type errors belong to the user is spanned on the user's tokens.

use super::args::{OverflowClose, ServiceArgs, Timeout};
use super::model::{Handler, Kind, Param, Role, Route};
use super::validate;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::ItemImpl;

/// The hidden names, all mixed-site so they can never clash with the user's.
struct Names {
    caller: Ident,
    state: Ident,
    event: Ident,
    request: Ident,
    ret: Ident,
    payload: Ident,
    error: Ident,
    text: Ident,
    data: Ident,
    code: Ident,
    reason: Ident,
    key: Ident,
}

fn hidden(name: &str) -> Ident {
    Ident::new(&format!("__ws_{name}"), Span::mixed_site())
}

impl Names {
    fn new() -> Self {
        Self {
            caller: hidden("caller"),
            state: hidden("state"),
            event: hidden("event"),
            request: hidden("request"),
            ret: hidden("ret"),
            payload: hidden("payload"),
            error: hidden("error"),
            text: hidden("text"),
            data: hidden("data"),
            code: hidden("code"),
            reason: hidden("reason"),
            key: hidden("key"),
        }
    }
}

/// `::ws_framework` or the `crate = ...` override.
pub fn krate(args: &ServiceArgs) -> TokenStream {
    match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::ws_framework),
    }
}

pub fn state_type(args: &ServiceArgs) -> TokenStream {
    match &args.state {
        Some(ty) => ty.to_token_stream(),
        None => quote!(()),
    }
}

pub fn expand(args: &ServiceArgs, item: &ItemImpl, handlers: &[Handler]) -> TokenStream {
    let krate = krate(args);
    let p = quote!(#krate::__private);
    let gen = Gen {
        p: &p,
        names: Names::new(),
        handlers,
        dispatcher_key: args.dispatcher_key.as_ref(),
    };
    let self_ty = &item.self_ty;
    let state_ty = state_type(args);
    let handlers_const = gen.handlers_const();
    let config = gen.config(args);
    let upgrade = gen.upgrade(args, item);
    let handle = gen.handle();
    quote! {
        #item

        impl #p::Service for #self_ty {
            type State = #state_ty;

            #handlers_const

            #config

            #upgrade

            #handle
        }
    }
}

struct Gen<'a> {
    p: &'a TokenStream,
    names: Names,
    handlers: &'a [Handler],
    dispatcher_key: Option<&'a syn::LitStr>,
}

impl Gen<'_> {
    fn find(&self, kind: Kind) -> Option<&Handler> {
        self.handlers.iter().find(|h| h.kind == kind)
    }

    fn error_role(&self, ident: &Ident) -> Option<&Handler> {
        self.handlers
            .iter()
            .find(|h| h.kind == Kind::ErrorHandler && h.ident == *ident)
    }

    fn handlers_const(&self) -> TokenStream {
        let p = self.p;
        let mut value = quote!(#p::Handlers::NONE);
        for (kind, with) in [
            (Kind::Ping, "with_ping"),
            (Kind::Pong, "with_pong"),
            (Kind::IdleTimeout, "with_idle_timeout"),
        ] {
            if self.find(kind).is_some() {
                let with = Ident::new(with, Span::call_site());
                value = quote!(#value.#with());
            }
        }
        quote!(const HANDLERS: #p::Handlers = #value;)
    }

    fn config(&self, args: &ServiceArgs) -> TokenStream {
        let p = self.p;
        let path = &args.path;
        let mut chain = quote!(#p::ServiceConfig::new(#path));
        if let Some(protocols) = &args.protocols {
            chain = quote!(#chain.protocols([#(#protocols),*]));
        }
        if let Some(Timeout::Millis(ms)) = args.idle_timeout {
            let d = duration(p, ms);
            chain = quote!(#chain.idle_timeout(#d));
        }
        if let Some(size) = &args.max_frame_size {
            chain = quote!(#chain.max_frame_size(#size));
        }
        if let Some(size) = &args.max_message_size {
            chain = quote!(#chain.max_message_size(#size));
        }
        match args.close_timeout {
            Some(Timeout::Millis(ms)) => {
                let d = duration(p, ms);
                chain = quote!(#chain.close_timeout(::core::option::Option::Some(#d)));
            }
            Some(Timeout::Forever) => {
                chain = quote!(#chain.close_timeout(::core::option::Option::None))
            }
            None => {}
        }
        if let Some(on) = &args.compression {
            chain = quote!(#chain.compression(#on));
        }
        if let Some(deflate) = &args.deflate {
            chain = quote!(#chain.deflate(#deflate));
        }
        if let Some(key) = &args.dispatcher_key {
            chain = quote!(#chain.dispatcher_key(#key));
        }
        if let Some(origins) = &args.origins {
            chain = quote!(#chain.allowed_origins([#(#origins),*]));
        }
        if let Some(on) = &args.require_origin {
            chain = quote!(#chain.require_origin(#on));
        }
        if let Some(auth) = &args.auth {
            chain = quote!(#chain.auth(#auth));
        }
        if let Some(bytes) = &args.write_buffer_limit {
            chain = quote!(#chain.write_buffer_limit(#bytes));
        }
        if let Some(Timeout::Millis(ms)) = args.write_timeout {
            let d = duration(p, ms);
            chain = quote!(#chain.write_timeout(#d));
        }
        match &args.overflow_close {
            Some(OverflowClose::Code(code)) => {
                let code = proc_macro2::Literal::u16_unsuffixed(*code);
                chain = quote!(#chain.overflow_close(#p::CloseCode::new(#code)));
            }
            Some(OverflowClose::Expr(expr)) => {
                let code = located(
                    quote!(::core::convert::Into::<#p::CloseCode>::into),
                    ends(expr),
                );
                chain = quote!(#chain.overflow_close(#code(#expr)));
            }
            None => {}
        }
        quote! {
            fn config() -> #p::ServiceConfig {
                #chain
            }
        }
    }

    fn upgrade(&self, args: &ServiceArgs, item: &ItemImpl) -> TokenStream {
        let p = self.p;
        let Names { request, state, .. } = &self.names;
        let Some(handler) = self.find(Kind::Upgrade) else {
            let call = located(quote!(#p::default_service()), item.self_ty.span());
            return quote! {
                async fn upgrade(
                    _: &mut #p::UpgradeRequest,
                    _: &#p::Arc<Self::State>,
                ) -> ::core::result::Result<Self, #p::UpgradeError> {
                    #call
                }
            };
        };
        let path_params: Vec<&str> = args.template.iter().flat_map(|t| t.params()).collect();
        let mut lets = Vec::new();
        let mut call_args = Vec::new();
        for param in &handler.params {
            let span = ends(&param.ty);
            match &param.role {
                Role::State => call_args.push(located(quote!(#p::state(#state)), span)),
                Role::Context => call_args.push(located(quote!(#p::request(#request)), span)),
                Role::Header(name) => {
                    let Some(ident) = &param.name else { continue };
                    let local = hidden(&ident.unraw().to_string());
                    let header = match name {
                        Some(lit) => lit.value(),
                        None => ident.unraw().to_string().replace('_', "-"),
                    };
                    lets.push(located(
                        quote!(let #local = #p::header_param(#request, #header)?;),
                        span,
                    ));
                    call_args.push(quote!(#local));
                }
                Role::Owned => {
                    let Some(ident) = &param.name else { continue };
                    let name = ident.unraw().to_string();
                    let local = hidden(&name);
                    let fetch = if path_params.contains(&name.as_str()) {
                        located(quote!(#p::path_param(#request, #name)?), span)
                    } else {
                        located(quote!(#p::query_param(#request, #name)?), span)
                    };
                    lets.push(quote!(let #local = #fetch;));
                    call_args.push(quote!(#local));
                }
            }
        }
        let ident = &handler.ident;
        let accept = located(quote!(#p::accept::<Self, _>), handler.return_span());
        quote! {
            async fn upgrade(
                #request: &mut #p::UpgradeRequest,
                #state: &#p::Arc<Self::State>,
            ) -> ::core::result::Result<Self, #p::UpgradeError> {
                #(#lets)*
                #accept(Self::#ident(#(#call_args),*).await)
            }
        }
    }

    fn handle(&self) -> TokenStream {
        let p = self.p;
        let Names {
            caller,
            state,
            event,
            ..
        } = &self.names;
        let mut arms: Vec<(usize, TokenStream)> = Vec::new();
        let text_handlers: Vec<&Handler> = self
            .handlers
            .iter()
            .filter(|h| matches!(h.kind, Kind::Text | Kind::Message | Kind::Dispatch))
            .collect();
        if let Some(first) = text_handlers.iter().map(|h| h.order).min() {
            arms.push((first, self.text_arm()));
        }
        if let Some(h) = self.find(Kind::Binary).or_else(|| self.find(Kind::Message)) {
            arms.push((h.order, self.binary_arm(h)));
        }
        for handler in self.handlers {
            let arm = match handler.kind {
                Kind::Open => self.simple_arm(handler, quote!(#p::Event::Open)),
                Kind::IdleTimeout => self.simple_arm(handler, quote!(#p::Event::IdleTimeout)),
                Kind::Ping | Kind::Pong => self.control_arm(handler),
                Kind::Close => self.close_arm(handler),
                Kind::Error => self.error_arm(handler),
                _ => continue,
            };
            arms.push((handler.order, arm));
        }
        arms.sort_by_key(|(order, _)| *order);
        let arms = arms.into_iter().map(|(_, arm)| arm);
        quote! {
            async fn handle<'a>(
                &'a mut self,
                #caller: &'a #p::Caller,
                #state: &'a #p::Arc<Self::State>,
                #event: #p::Event,
            ) -> #p::Reply {
                #[allow(unused_imports)]
                use #p::autoref::*;
                match #event {
                    #(#arms)*
                    #event => #p::unhandled(#event),
                }
            }
        }
    }

    /// `Self::name(self, args..)` followed by the conversion of its return value.
    fn call(&self, handler: &Handler, owned: &dyn Fn(&Param) -> TokenStream) -> TokenStream {
        let p = self.p;
        let Names {
            caller, state, ret, ..
        } = &self.names;
        let args = handler.params.iter().map(|param| {
            let span = ends(&param.ty);
            match param.role {
                Role::State => located(quote!(#p::state(#state)), span),
                Role::Context => located(quote!(#p::caller(#caller)), span),
                Role::Owned | Role::Header(_) => owned(param),
            }
        });
        let ident = &handler.ident;
        let kind = Ident::new(handler.kind.name(), Span::call_site());
        let convert = located(
            quote!((&&&&&#p::Ret(&#ret)).__ws_reply_kind().into_reply(#p::kind::#kind, #ret)),
            handler.return_span(),
        );
        quote! {{
            let #ret = Self::#ident(self #(, #args)*).await;
            #convert
        }}
    }

    fn takes_value(handler: &Handler) -> bool {
        handler.params.iter().any(|p| matches!(p.role, Role::Owned))
    }

    fn simple_arm(&self, handler: &Handler, pattern: TokenStream) -> TokenStream {
        let call = self.call(handler, &|_| TokenStream::new());
        quote!(#pattern => #call,)
    }

    fn control_arm(&self, handler: &Handler) -> TokenStream {
        let p = self.p;
        let data = &self.names.data;
        let variant = if handler.kind == Kind::Ping {
            quote!(Ping)
        } else {
            quote!(Pong)
        };
        let binding = if Self::takes_value(handler) {
            quote!(#data)
        } else {
            quote!(_)
        };
        let call = self.call(handler, &|param| {
            located(quote!(#p::control_payload(#data)), ends(&param.ty))
        });
        quote!(#p::Event::#variant(#binding) => #call,)
    }

    fn close_arm(&self, handler: &Handler) -> TokenStream {
        let p = self.p;
        let Names { code, reason, .. } = &self.names;
        let pattern = if Self::takes_value(handler) {
            quote!(#p::Event::Close { code: #code, reason: #reason, .. })
        } else {
            quote!(#p::Event::Close { .. })
        };
        let call = self.call(handler, &|param| {
            located(quote!(#p::close_arg(#code, &#reason)), ends(&param.ty))
        });
        quote!(#pattern => #call,)
    }

    fn error_arm(&self, handler: &Handler) -> TokenStream {
        let p = self.p;
        let error = &self.names.error;
        let binding = if Self::takes_value(handler) {
            quote!(#error)
        } else {
            quote!(_)
        };
        let call = self.call(handler, &|param| {
            located(quote!(#p::error_arg(#error)), ends(&param.ty))
        });
        quote!(#p::Event::Error(#binding) => #call,)
    }

    /// What to do with a payload that failed to bind: the handler's `error = ...` method, else
    /// `#[on_error]`, else close 1003.
    fn binding_failure(&self, handler: &Handler) -> (TokenStream, TokenStream) {
        let p = self.p;
        let error = &self.names.error;
        let target = handler
            .error_handler()
            .and_then(|ident| self.error_role(ident))
            .or_else(|| self.find(Kind::Error));
        match target {
            Some(target) => {
                let binding = if Self::takes_value(target) {
                    quote!(#error)
                } else {
                    quote!(_)
                };
                let call = self.call(target, &|param| {
                    located(quote!(#p::error_arg(#error)), ends(&param.ty))
                });
                (binding, call)
            }
            None => (quote!(#error), quote!(#p::binding_failed(#error))),
        }
    }

    /// Binds the payload with `bind` (a `__private` function) and calls the handler.
    fn bind_and_call(&self, handler: &Handler, bind: &str, source: &Ident) -> TokenStream {
        let p = self.p;
        let payload = &self.names.payload;
        let Some(param) = handler.payload() else {
            return self.call(handler, &|_| TokenStream::new());
        };
        let bind = Ident::new(bind, Span::call_site());
        let bound = located(quote!(#p::#bind(#source)), ends(&param.ty));
        let call = self.call(handler, &|_| quote!(#payload));
        let (binding, failure) = self.binding_failure(handler);
        quote! {
            match #bound {
                ::core::result::Result::Ok(#payload) => #call,
                ::core::result::Result::Err(#binding) => #failure,
            }
        }
    }

    fn text_arm(&self) -> TokenStream {
        let p = self.p;
        let Names { text, key, .. } = &self.names;
        let fallback = if let Some(h) = self.find(Kind::Text) {
            self.bind_and_call(h, "bind_text", text)
        } else if let Some(h) = self.find(Kind::Message) {
            self.bind_and_call(h, "bind_message_text", text)
        } else {
            quote!(#p::Reply::None)
        };
        let dispatchers: Vec<(Route, &Handler)> = self
            .handlers
            .iter()
            .filter(|h| h.kind == Kind::Dispatch)
            .filter_map(|h| validate::route(h).map(|r| (r, h)))
            .collect();
        let Some(dispatcher_key) = self.dispatcher_key.filter(|_| !dispatchers.is_empty()) else {
            return quote!(#p::Event::Text(#text) => #fallback,);
        };
        // Explicit values first, then names (Ballerina's order), then the fallback.
        let explicit = dispatchers.iter().filter_map(|(r, h)| match r {
            Route::Explicit(value) => {
                let call = self.bind_and_call(h, "bind_text", text);
                Some(quote!(::core::option::Option::Some(#key) if #key.value() == #value => #call,))
            }
            Route::Conventional(_) => None,
        });
        let by_name = dispatchers.iter().filter_map(|(r, h)| match r {
            Route::Conventional(name) => {
                let call = self.bind_and_call(h, "bind_text", text);
                Some(quote!(::core::option::Option::Some(#key) if #key.name() == #name => #call,))
            }
            Route::Explicit(_) => None,
        });
        quote! {
            #p::Event::Text(#text) => match #p::DispatchKey::of(&#text, #dispatcher_key) {
                #(#explicit)*
                #(#by_name)*
                _ => #fallback,
            },
        }
    }

    fn binary_arm(&self, handler: &Handler) -> TokenStream {
        let p = self.p;
        let data = &self.names.data;
        let bind = if handler.kind == Kind::Message {
            "bind_message_binary"
        } else {
            "bind_binary"
        };
        let call = self.bind_and_call(handler, bind, data);
        quote!(#p::Event::Binary(#data) => #call,)
    }
}

fn duration(p: &TokenStream, ms: u64) -> TokenStream {
    if ms % 1000 == 0 {
        let secs = proc_macro2::Literal::u64_unsuffixed(ms / 1000);
        quote!(#p::Duration::from_secs(#secs))
    } else {
        let ms = proc_macro2::Literal::u64_unsuffixed(ms);
        quote!(#p::Duration::from_millis(#ms))
    }
}

trait Unraw {
    fn unraw(&self) -> Ident;
}

impl Unraw for Ident {
    fn unraw(&self) -> Ident {
        let s = self.to_string();
        match s.strip_prefix("r#") {
            Some(rest) => Ident::new(rest, self.span()),
            None => self.clone(),
        }
    }
}

/// `tokens` with every token moved to `span`'s location, keeping each token's hygiene, so
/// rustc reports errors of generated code on the user's tokens while hidden names still
/// resolve as generated.
fn located(tokens: TokenStream, span: impl Into<Ends>) -> TokenStream {
    let Ends(first, last) = span.into();
    let mut tokens: Vec<proc_macro2::TokenTree> = at(tokens, first).into_iter().collect();
    // rustc spans an expression from its first token to its last: moving the last one to the
    // end of the user's type makes errors underline the whole type (stable `Span` cannot join).
    if let Some(tt) = tokens.last_mut() {
        if let proc_macro2::TokenTree::Group(g) = tt {
            let mut group = proc_macro2::Group::new(g.delimiter(), g.stream());
            group.set_span(g.span().located_at(last));
            *tt = proc_macro2::TokenTree::Group(group);
        } else {
            tt.set_span(tt.span().located_at(last));
        }
    }
    tokens.into_iter().collect()
}

/// The first and last token spans of some user tokens.
#[derive(Clone, Copy)]
struct Ends(Span, Span);

impl From<Span> for Ends {
    fn from(span: Span) -> Self {
        Ends(span, span)
    }
}

fn ends(tokens: &impl ToTokens) -> Ends {
    let tokens: Vec<_> = tokens.to_token_stream().into_iter().collect();
    let first = tokens.first().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| match t {
        proc_macro2::TokenTree::Group(g) => g.span_close(),
        t => t.span(),
    });
    Ends(first, last)
}

fn at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), at(g.stream(), span));
                group.set_span(g.span().located_at(span));
                return proc_macro2::TokenTree::Group(group);
            }
            tt.set_span(tt.span().located_at(span));
            tt
        })
        .collect()
}
