//! Procedural macros for the `runtime` crate: `#[runtime::main]`, `#[runtime::test]`, and
//! the async generators `stream!` / `try_stream!`.
//! Use them through `runtime`, which re-exports them.
//!
//! On an error the macros emit the original function plus a `compile_error!` pointing at
//! the offending code, so that IDEs keep working on the body.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ItemFn, Meta, Token};

/// `#[runtime::main]`: runs `async fn main` on a fresh loop with `runtime::run`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), Kind::Main).into()
}

/// `#[runtime::test]` / `#[runtime::test(start_paused = true)]` /
/// `#[runtime::test(seed = 42)]`: runs an `async fn` test on a fresh loop (paused clock,
/// seeded scheduling).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), Kind::Test).into()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[runtime::main]",
            Kind::Test => "#[runtime::test]",
        }
    }
}

struct Config {
    start_paused: bool,
    /// `#[runtime::test(seed = N)]`: seeded scheduling.
    seed: Option<u64>,
    /// `#[runtime::main(process_pool = REGISTRY)]`: serve as a pool worker if asked to.
    process_pool: Option<syn::Expr>,
}

fn expand(args: TokenStream2, item: TokenStream2, kind: Kind) -> TokenStream2 {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let err = e.to_compile_error();
            return quote! { #err #item };
        }
    };
    match parse_config(args, kind).and_then(|cfg| check(&func, kind).map(|()| cfg)) {
        Ok(cfg) => generate(func, cfg, kind),
        Err(e) => {
            let err = e.to_compile_error();
            let stub = error_stub(func);
            quote! { #err #stub }
        }
    }
}

/// What to emit beside a `compile_error!`: the function, still type-checked for the IDE's
/// sake, but no longer `async` (an `async fn main` would add a second, misleading error).
fn error_stub(func: ItemFn) -> TokenStream2 {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    if sig.asyncness.take().is_none() {
        return quote! { #(#attrs)* #vis #sig #block };
    }
    quote! {
        #(#attrs)*
        #vis #sig {
            let _body = async move #block;
            ::core::unreachable!()
        }
    }
}

fn parse_config(args: TokenStream2, kind: Kind) -> syn::Result<Config> {
    let mut cfg = Config {
        start_paused: false,
        seed: None,
        process_pool: None,
    };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match (kind, name.as_str(), &meta) {
            (Kind::Test, "start_paused", Meta::NameValue(nv)) => {
                cfg.start_paused = match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) => b.value,
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`start_paused` takes `true` or `false`",
                        ))
                    }
                }
            }
            (Kind::Test, "seed", Meta::NameValue(nv)) => {
                cfg.seed = match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(i),
                        ..
                    }) => Some(i.base10_parse::<u64>()?),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`seed` takes an unsigned integer literal, e.g. `seed = 42`",
                        ))
                    }
                }
            }
            (Kind::Test, _, _) => {
                return Err(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "unknown option for {}: the options are `start_paused = true|false` \
                         and `seed = N`",
                        kind.attr()
                    ),
                ))
            }
            (Kind::Main, "process_pool", Meta::NameValue(nv)) => {
                cfg.process_pool = Some(nv.value.clone());
            }
            (Kind::Main, _, _) => {
                return Err(syn::Error::new_spanned(
                    &meta,
                    "unknown option for #[runtime::main]: the only option is \
                     `process_pool = REGISTRY`; configure a loop with `runtime::Builder` and \
                     `Runtime::block_on` instead",
                ))
            }
        }
    }
    Ok(cfg)
}

fn check(func: &ItemFn, kind: Kind) -> syn::Result<()> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "{} goes on an `async fn`: add the `async` keyword to this function",
                kind.attr()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        let what = match kind {
            Kind::Main => "`main` takes no arguments: read them with `std::env::args()`",
            Kind::Test => "a test function takes no arguments",
        };
        return Err(syn::Error::new_spanned(&sig.inputs, what));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("{} does not support generic functions", kind.attr()),
        ));
    }
    if kind == Kind::Main && sig.ident != "main" {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "#[runtime::main] goes on `async fn main`; for other functions use \
             `runtime::run(...)` inside them",
        ));
    }
    Ok(())
}

fn generate(func: ItemFn, cfg: Config, kind: Kind) -> TokenStream2 {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;
    let span = block.brace_token.span.join();
    let body = quote_spanned! {span=> async move #block };
    let call_site = Span::call_site();
    match kind {
        Kind::Main => {
            let worker = cfg.process_pool.map(|reg| {
                quote! { ::runtime::pool::process::worker_main(&#reg); }
            });
            quote_spanned! {call_site=>
                #(#attrs)*
                #vis #sig {
                    #worker
                    ::runtime::run(#body)
                }
            }
        }
        Kind::Test => {
            let paused = cfg.start_paused;
            let seed = match cfg.seed {
                Some(s) => quote! { ::core::option::Option::Some(#s) },
                None => quote! { ::core::option::Option::None },
            };
            quote_spanned! {call_site=>
                #[::core::prelude::v1::test]
                #(#attrs)*
                #vis #sig {
                    ::runtime::__private::run_test(#paused, #seed, #body)
                }
            }
        }
    }
}

/// `stream! { ... yield x; ... }`: an async generator; see `runtime::stream!`.
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    expand_stream(input.into(), false).into()
}

/// `try_stream! { ... yield x; ... something()?; ... }`; see `runtime::try_stream!`.
#[proc_macro]
pub fn try_stream(input: TokenStream) -> TokenStream {
    expand_stream(input.into(), true).into()
}

/// Rewrites `yield value` into `__runtime_yield.send(value).await`, leaving closures and
/// nested async blocks (which have their own context) alone.
struct YieldRewriter {
    error: Option<syn::Error>,
}

impl VisitMut for YieldRewriter {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Yield(y) = expr {
            match y.expr.take() {
                Some(mut value) => {
                    self.visit_expr_mut(&mut value);
                    *expr = syn::parse_quote_spanned! {y.yield_token.span=>
                        __runtime_yield.send(#value).await
                    };
                }
                None => {
                    self.error.get_or_insert(syn::Error::new_spanned(
                        y.yield_token,
                        "`yield` in a stream needs a value: `yield value;`",
                    ));
                }
            }
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}

    fn visit_expr_async_mut(&mut self, _: &mut syn::ExprAsync) {}
}

fn expand_stream(input: TokenStream2, is_try: bool) -> TokenStream2 {
    let stmts = match Block::parse_within.parse2(input) {
        Ok(s) => s,
        Err(e) => return e.to_compile_error(),
    };
    let mut block = Block {
        brace_token: Default::default(),
        stmts,
    };
    let mut rw = YieldRewriter { error: None };
    rw.visit_block_mut(&mut block);
    if let Some(e) = rw.error {
        return e.to_compile_error();
    }
    let stmts = &block.stmts;
    if is_try {
        quote! {{
            #[allow(unused_mut)]
            let (mut __runtime_yield, __runtime_rx) = ::runtime::stream::generator::pair();
            ::runtime::stream::TryAsyncStream::new(__runtime_rx, async move {
                #(#stmts)*
                #[allow(unreachable_code)]
                ::core::result::Result::Ok(())
            })
        }}
    } else {
        quote! {{
            #[allow(unused_mut)]
            let (mut __runtime_yield, __runtime_rx) = ::runtime::stream::generator::pair();
            ::runtime::stream::AsyncStream::new(__runtime_rx, async move {
                #(#stmts)*
            })
        }}
    }
}
