//! The handoff of a connection's transport after a protocol switch (`101`,
//! `CONNECT`): [`OnUpgrade`], generic over the runtime's upgraded transport
//! type (each adapter names its own: `adapter_tokio::upgrade::OnUpgrade`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::error::Error;

/// A future resolving to the upgraded transport `T` once the exchange
/// switched protocols; an error if it did not (any other response, or the
/// connection failed first).
pub struct OnUpgrade<T> {
    // In an `Arc<Mutex>` because `http` extensions must be `Clone + Sync`.
    rx: Option<Arc<Mutex<Option<oneshot::Receiver<T>>>>>,
}

impl<T> OnUpgrade<T> {
    /// A new handoff: the connection's end and the application's.
    pub fn pair() -> (oneshot::Sender<T>, Self) {
        let (tx, rx) = oneshot::channel();
        (
            tx,
            Self {
                rx: Some(Arc::new(Mutex::new(Some(rx)))),
            },
        )
    }

    /// The upgrade of a message that cannot be upgraded (resolves to an
    /// error).
    pub fn none() -> Self {
        Self { rx: None }
    }
}

impl<T: Send + 'static> OnUpgrade<T> {
    /// Takes the upgrade out of a message's extensions (or [`none`]).
    ///
    /// [`none`]: OnUpgrade::none
    pub fn take(extensions: &mut http::Extensions) -> Self {
        extensions.remove::<Self>().unwrap_or_else(Self::none)
    }
}

impl<T> Clone for OnUpgrade<T> {
    fn clone(&self) -> Self {
        Self {
            rx: self.rx.clone(),
        }
    }
}

impl<T> fmt::Debug for OnUpgrade<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnUpgrade").finish_non_exhaustive()
    }
}

impl<T> Future for OnUpgrade<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(shared) = &self.rx else {
            return Poll::Ready(Err(Error::InvalidRequest(
                "this message cannot be upgraded",
            )));
        };
        let mut slot = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(rx) = slot.as_mut() else {
            return Poll::Ready(Err(Error::InvalidRequest("the upgrade was already taken")));
        };
        let out = match Pin::new(rx).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(upgraded)) => Ok(upgraded),
            Poll::Ready(Err(_)) => Err(Error::Canceled),
        };
        *slot = None;
        drop(slot);
        self.rx = None;
        Poll::Ready(out)
    }
}

/// The messages an upgrade can be taken from: a request (server) or a
/// response (client), owned or borrowed. Sealed: the adapters' `upgrade::on`
/// accepts exactly these four.
pub trait UpgradeMessage: sealed::Sealed {
    /// Runs `f` on the message's extensions (where the connection left its
    /// upgrade handle).
    fn with_extensions<R>(self, f: impl FnOnce(&mut http::Extensions) -> R) -> R;
}

mod sealed {
    pub trait Sealed {}
    impl<B> Sealed for http::Request<B> {}
    impl<B> Sealed for &mut http::Request<B> {}
    impl<B> Sealed for http::Response<B> {}
    impl<B> Sealed for &mut http::Response<B> {}
}

impl<B> UpgradeMessage for http::Request<B> {
    fn with_extensions<R>(mut self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        f(self.extensions_mut())
    }
}

impl<B> UpgradeMessage for &mut http::Request<B> {
    fn with_extensions<R>(self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        f(self.extensions_mut())
    }
}

impl<B> UpgradeMessage for http::Response<B> {
    fn with_extensions<R>(mut self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        f(self.extensions_mut())
    }
}

impl<B> UpgradeMessage for &mut http::Response<B> {
    fn with_extensions<R>(self, f: impl FnOnce(&mut http::Extensions) -> R) -> R {
        f(self.extensions_mut())
    }
}
