// The marketplace in the browser: a buyer granted coins by an admin finds a listing, buys it,
// follows the purchase to its end, sees the wallet and the level, and hosts the bought quiz; a
// second purchase without enough coins fails with its reason; the seller sees the sale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, person, account, signIn, createQuiz, choice, assertClean, call, grantRole, unique, screenshot } from '../lib.mjs';

test('a player buys a quiz with granted coins and hosts it', { timeout: 90000 }, async (t) => {
  const seller = await account('seller');
  const buyer = await account('buyer');
  const admin = await account('admin');
  await grantRole(admin, 'admin');
  const title = unique('Bought');
  const quiz = await createQuiz(seller, { title, mode: 'casual', questions: [choice('2+2?', ['3', '4'], 1)] });
  const other = await createQuiz(seller, { title: unique('Pricey'), mode: 'casual', questions: [choice('1+1?', ['2', '3'], 0)] });
  await call('POST', 'marketplace/listings', { quizId: quiz.id, price: 10, plays: 1 }, seller.token);
  await call('POST', 'marketplace/listings', { quizId: other.id, price: 10, plays: 0 }, seller.token);
  await call('POST', `admin/wallets/${buyer.player.id}/grants`, { amount: 15, reason: 'e2e welcome' }, admin.token);

  const b = await person(t, 'buyer');
  await signIn(b.page, buyer);
  await b.page.goto(`${BASE}/market`);
  await b.page.waitForSelector('#market-balance:has-text("You have 15 coins.")');
  await b.page.fill('#market-q', title.toUpperCase());
  await b.page.press('#market-q', 'Enter');
  await b.page.waitForSelector(`.listing h2:has-text("${title}")`);
  assert.equal(await b.page.locator('#listings .listing').count(), 1);
  await b.page.click(`.listing:has-text("${title}") button:has-text("Buy for 10 coins")`);
  await b.page.waitForSelector(`.listing:has-text("${title}") .purchase-status[data-status="completed"]`, { timeout: 20000 });
  await b.page.waitForSelector('#market-balance:has-text("You have 5 coins.")');
  await screenshot(b.page, 'marketplace');

  // Five coins cannot buy the second listing: the purchase fails with its reason.
  await b.page.fill('#market-q', 'Pricey');
  await b.page.press('#market-q', 'Enter');
  await b.page.click('.listing:has-text("Pricey") button:has-text("Buy for 10 coins")');
  await b.page.waitForSelector('.listing:has-text("Pricey") .purchase-status[data-status="failed"]', { timeout: 20000 });
  assert.match(await b.page.textContent('.listing:has-text("Pricey") .purchase-status'), /not have enough coins/);

  await b.page.goto(`${BASE}/wallet`);
  await b.page.waitForSelector('#balance:has-text("5 coins")');
  assert.equal(await b.page.locator('#ledger .ledger-row').count(), 2); // the grant and the purchase: a refused one moves nothing
  assert.match(await b.page.textContent('#ledger .ledger-row[data-kind="grant"]'), /e2e welcome/);
  await b.page.waitForSelector('#level-num:has-text("Level 1")');

  await b.page.goto(`${BASE}/profile`);
  await b.page.waitForSelector('#xp-bar');
  assert.match(await b.page.textContent('#xp-text'), /0 \/ 100 XP to level 2/);

  await b.page.goto(`${BASE}/market/sell`);
  await b.page.waitForSelector(`.licence[data-quiz="${quiz.id}"]:has-text("1 of 1 games left")`);
  await b.page.click(`.licence[data-quiz="${quiz.id}"] button:has-text("Host")`);
  await b.page.waitForURL(/\/host\/[A-Z2-9]{6}$/);

  const s = await person(t, 'seller');
  await signIn(s.page, seller);
  await s.page.goto(`${BASE}/author`);
  await s.page.waitForSelector(`[data-quiz="${quiz.id}"] .for-sale:has-text("Listed for 10 coins · 1 sold")`);
  assertClean(b, s);
});
