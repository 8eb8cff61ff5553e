"""The fan-out: every client gets every frame, and a slow one loses only its own oldest."""

from __future__ import annotations

from chainwatch.dashboard.feed import FeedHub


async def test_every_client_receives_every_frame_in_order() -> None:
    hub = FeedHub(queue_size=8)
    first, second = hub.register(), hub.register()

    for n in range(3):
        hub.broadcast(f"frame-{n}")

    for client in (first, second):
        assert [await client.next_frame() for _ in range(3)] == ["frame-0", "frame-1", "frame-2"]
    assert hub.stats().broadcasts == 3
    assert hub.stats().dropped == 0


async def test_slow_client_drops_its_oldest_frames_and_never_holds_up_the_others() -> None:
    hub = FeedHub(queue_size=2)
    slow, fast = hub.register(), hub.register()

    for n in range(5):
        hub.broadcast(f"frame-{n}")
        assert await fast.next_frame() == f"frame-{n}"

    assert slow.dropped == 3
    assert fast.dropped == 0
    assert slow.pending == 2
    assert [await slow.next_frame(), await slow.next_frame()] == ["frame-3", "frame-4"]
    assert hub.stats().dropped == 3


async def test_a_client_that_left_gets_nothing_more() -> None:
    hub = FeedHub(queue_size=4)
    gone, staying = hub.register(), hub.register()
    hub.unregister(gone)

    hub.broadcast("after")

    assert gone.pending == 0
    assert await staying.next_frame() == "after"
    assert hub.stats().clients == 1
