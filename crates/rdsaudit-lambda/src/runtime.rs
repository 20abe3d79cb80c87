//! Runs a [`Handler`] under `lambda_runtime` on the invocation's raw body.
//!
//! `lambda_runtime` would deserialize the body before our code runs: a body that is not JSON
//! would be refused with no summary line, and a Kinesis batch would be validated and copied
//! into a `RawValue` before we copy it again into our padded buffer. A layer takes the body
//! bytes as received instead (hands them over by moving the `Bytes`, no copy) and gives the
//! runtime `null` to deserialize; the handler reads them once into its reusable buffer. The
//! response and error posts stay the runtime's own.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime, service_fn};
use serde::de::IgnoredAny;

use crate::handler::Handler;
use crate::target::Target;

/// The body of the current invocation, by request id, between the layer and the handler.
type Slot = Arc<Mutex<Option<(String, Bytes)>>>;

/// The layer that takes the body out of each invocation.
struct TakeBodyLayer(Slot);

/// The service [`TakeBodyLayer`] wraps around the runtime's own.
struct TakeBody<S> {
    inner: S,
    slot: Slot,
}

impl<S> Layer<S> for TakeBodyLayer {
    type Service = TakeBody<S>;

    fn layer(&self, inner: S) -> TakeBody<S> {
        TakeBody {
            inner,
            slot: Arc::clone(&self.0),
        }
    }
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for TakeBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, Bytes::from_static(b"null"));
        let id = invocation.context.request_id.clone();
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, body));
        self.inner.call(invocation)
    }
}

/// Polls the Runtime API for invocations and answers each with `handler`, one at a time.
pub(crate) async fn serve<T: Target + 'static>(
    handler: Handler<T>,
) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    let slot = Slot::default();
    let taken = Arc::clone(&slot);
    let service = service_fn(move |event: LambdaEvent<IgnoredAny>| {
        let handler = Arc::clone(&handler);
        let body = take(&taken, &event.context.request_id);
        // Boxed: the handler's future nests every destination's AWS SDK futures, too deep for
        // the compiler's default recursion limit in the caller's `main`.
        let invocation: Pin<Box<dyn Future<Output = _>>> = Box::pin(async move {
            let body = body?;
            let deadline = event.context.deadline();
            handler
                .invoke(&body, &event.context.request_id, Some(deadline))
                .await
        });
        invocation
    });
    Runtime::new(service)
        .layer(TakeBodyLayer(slot))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .run()
        .await
}

/// The body the layer took for `request_id`.
fn take(slot: &Slot, request_id: &str) -> Result<Bytes, Diagnostic> {
    match slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
        Some((id, body)) if id == request_id => Ok(body),
        _ => Err(Diagnostic {
            error_type: "RdsAudit.Internal".into(),
            error_message: format!("no body was taken for invocation {request_id}"),
        }),
    }
}
